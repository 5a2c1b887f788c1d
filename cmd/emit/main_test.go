package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/pkg/emit"
)

func TestParseArgs(t *testing.T) {
	env := func(string) string { return "" }
	tests := []struct {
		name    string
		args    string
		wantTo  []string
		wantErr string
	}{
		{"targets", "run --from sample --prefix p --to kafka://a:1,b:2,http://h/topics/,kinesis://", []string{"kafka://a:1,b:2", "http://h/topics/", "kinesis://"}, ""},
		{"no prefix", "run --from sample --to kinesis://", nil, "--prefix is required"},
		{"no target", "run --from sample --prefix p", nil, "--to is required"},
		{"bad order", "run --from sample --prefix p --to kinesis:// --order up", nil, "--order"},
		{"negative count", "run --from sample --prefix p --to kinesis:// --count -1", nil, "count -1"},
		{"bad tables", "seed-db --tables a,b", nil, "--tables"},
		{"unknown command", "send", nil, "unknown command"},
		{"unknown flag", "run --bogus", nil, "flag provided but not defined: -bogus"},
		{"extra argument", "run --from sample --prefix p --to kinesis:// extra", nil, "unexpected argument"},
		{"bad log format", "run --from sample --prefix p --to kinesis:// --log-format xml", nil, "--log-format"},
		{"json logs", "run --from sample --prefix p --to kinesis:// --log-format json", []string{"kinesis://"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseArgs(strings.Fields(tc.args), io.Discard, env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || cli.ExitCode(err) != cli.ExitUsage {
					t.Fatalf("err = %v, want a usage error %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.To, tc.wantTo) {
				t.Errorf("To = %q, want %q", cfg.To, tc.wantTo)
			}
		})
	}
}

// TestHelpAndUsage checks -h (flag.ErrHelp, exit 0) and that run takes an
// invalid configuration as a usage error.
func TestHelpAndUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-h"}, {"run", "-h"}, {"seed-db", "--help"}} {
		var stderr bytes.Buffer
		if _, err := parseArgs(args, &stderr, nil); !errors.Is(err, flag.ErrHelp) || cli.ExitCode(err) != cli.ExitOK || !strings.Contains(stderr.String(), "usage:") {
			t.Errorf("parseArgs(%q) = %v, usage %q; want flag.ErrHelp and the usage", args, err, stderr.String())
		}
	}
	if err := run(t.Context(), Config{Command: "run"}, io.Discard, io.Discard); cli.ExitCode(err) != cli.ExitUsage {
		t.Errorf("run of an invalid configuration = %v, want a usage error", err)
	}
}

func runArgs(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	cfg, err := parseArgs(args, io.Discard, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err = run(ctx, cfg, &out, &errOut)
	return out.String(), err
}

// TestSeedAndRun seeds MariaDB with "emit seed-db", then "emit run" sends
// rows to an in-process Kafka cluster and reports per-target counts as JSON.
func TestSeedAndRun(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	dsn := "root@tcp(127.0.0.1:3306)/test"
	sfx := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	tables := "pinterest_data_c" + sfx + ",geolocation_data_c" + sfx + ",user_data_c" + sfx
	out, err := runArgs(t, t.Context(), "seed-db", "--dsn", dsn, "--rows", "300", "--tables", tables, "--progress", "off")
	if err != nil {
		if strings.Contains(err.Error(), "unreachable") {
			t.Skipf("MariaDB: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Drop the tables through the driver the command uses.
		cfg, _ := parseArgs([]string{"seed-db", "--tables", tables}, io.Discard, nil)
		_ = dropTables(dsn, cfg)
	})
	if !strings.Contains(out, "seeded 300 rows") {
		t.Errorf("seed-db said %q", out)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, err = runArgs(t, t.Context(), "run", "--from", "mysql://"+dsn, "--tables", tables, "--to", "kafka://"+c.ListenAddrs()[0],
		"--prefix", "cmd"+sfx, "--create", "--count", "250", "--seed", "3", "--json", "--progress", "off")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		emit.Stats
		Sent, Failed int64
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if res.Sent != 750 || res.Failed != 0 || len(res.Targets) != 1 || res.Targets[0].Sent != (emit.TableCounts{Pin: 250, Geo: 250, User: 250}) {
		t.Errorf("result %+v", res)
	}
}

// TestRunInterrupted: an interrupted run exits cleanly with a summary.
func TestRunInterrupted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	out, err := runArgs(t, ctx, "run", "--from", "sample://?rows=100&seed=2", "--to", srv.URL+"/topics/", "--prefix", "p", "--rate", "100", "--progress", "off")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "interrupted: ") || !strings.Contains(out, "failed 0") {
		t.Errorf("summary %q", out)
	}
}
