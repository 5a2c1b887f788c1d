package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/pinpipe/pinpipe/internal/cli"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, cli.ExitOK},
		{"help", flag.ErrHelp, cli.ExitOK},
		{"failure", errors.New("boom"), cli.ExitFailure},
		{"usage", cli.Usage(errors.New("--x is required")), cli.ExitUsage},
		{"wrapped usage", fmt.Errorf("config: %w", cli.Usage(errors.New("bad"))), cli.ExitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cli.ExitCode(tc.err); got != tc.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
	if cli.Usage(nil) != nil {
		t.Error("Usage(nil) is not nil")
	}
	inner := errors.New("inner")
	if err := cli.Usage(inner); !errors.Is(err, inner) || err.Error() != "inner" {
		t.Errorf("Usage(inner) = %v, want it to wrap inner with the same message", err)
	}
}

func TestMessage(t *testing.T) {
	if got := cli.Message("x", errors.New("a\n  b\tc")); got != "x: a; b c" {
		t.Errorf("Message = %q", got)
	}
}

func TestLogger(t *testing.T) {
	if err := cli.CheckLogFormat("xml"); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("CheckLogFormat(xml) = %v, want an error naming it", err)
	}
	for _, f := range []string{cli.LogText, cli.LogJSON, ""} {
		if err := cli.CheckLogFormat(f); err != nil {
			t.Errorf("CheckLogFormat(%s) = %v", f, err)
		}
	}
	var buf bytes.Buffer
	log := cli.NewLogger(&buf, cli.LogJSON, slog.LevelWarn)
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "shown" {
		t.Errorf("JSON log %q: %v", buf.String(), err)
	}
	buf.Reset()
	cli.NewLogger(&buf, cli.LogText, slog.LevelInfo).Info("hello", "k", 1)
	if got := buf.String(); !strings.Contains(got, "msg=hello k=1") {
		t.Errorf("text log %q", got)
	}

	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var format string
	cli.LogFormatFlag(fs, &format)
	if err := fs.Parse([]string{"--log-format", "json"}); err != nil || format != cli.LogJSON {
		t.Errorf("--log-format json: %q, %v", format, err)
	}
}

func TestParse(t *testing.T) {
	newFS := func() (*flag.FlagSet, *int) {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		return fs, fs.Int("n", 1, "a number")
	}
	fs, n := newFS()
	if err := cli.Parse(fs, []string{"--n", "3"}, io.Discard, "usage: x"); err != nil || *n != 3 {
		t.Errorf("good flags: %v, n = %d", err, *n)
	}
	var help strings.Builder
	fs, _ = newFS()
	if err := cli.Parse(fs, []string{"-h"}, &help, "usage: x [--n N]"); !errors.Is(err, flag.ErrHelp) ||
		!strings.HasPrefix(help.String(), "usage: x [--n N]\n") || !strings.Contains(help.String(), "a number") {
		t.Errorf("-h: %v, printed %q", err, help.String())
	}
	for args, want := range map[string]string{"--m": "-m", "extra": `unexpected argument "extra"`} {
		var out strings.Builder
		fs, _ = newFS()
		err := cli.Parse(fs, strings.Fields(args), &out, "usage: x")
		if !cli.IsUsage(err) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "see --help") || out.Len() != 0 {
			t.Errorf("%s: err = %v, printed %q; want a usage error naming %s", args, err, out.String(), want)
		}
	}
}
