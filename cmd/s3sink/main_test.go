package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/landtest"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/sink"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}

// buildBinary builds s3sink once per test process.
func buildBinary(t *testing.T) string { return devstack.Build(t, ".") }

// TestParseFlags checks the defaults (sink.Config's), the topics of a prefix
// and the usage errors, in-process.
func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"--brokers", "127.0.0.1:1", "--prefix", "p", "--output", t.TempDir()}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Group != sink.DefaultGroup || cfg.FlushSize != sink.DefaultFlushSize || cfg.SessionTimeout != sink.DefaultSessionTimeout ||
		cfg.UnhealthyAfter != sink.DefaultUnhealthyAfter || cfg.LogFormat != cli.LogText {
		t.Errorf("defaults %+v, want sink.Config's", cfg)
	}
	sc, err := cfg.sinkConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"p.pin", "p.geo", "p.user"}; !slices.Equal(sc.Topics, want) {
		t.Errorf("topics %q, want %q", sc.Topics, want)
	}
	for _, args := range [][]string{
		{"--bogus"},
		{"--brokers", "127.0.0.1:1", "--prefix", "p"},
		{"--brokers", "127.0.0.1:1", "--prefix", "p", "--output", "x", "--log-format", "xml"},
		{"--brokers", "127.0.0.1:1", "--prefix", "p", "--output", "x", "extra"},
	} {
		if _, err := parseFlags(args, io.Discard); cli.ExitCode(err) != cli.ExitUsage {
			t.Errorf("parseFlags(%q) = %v, want a usage error", args, err)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

// TestRunErrors checks run's errors in-process: an invalid configuration is
// a usage error, an unreachable broker a failure.
func TestRunErrors(t *testing.T) {
	err := run(t.Context(), Config{Brokers: "127.0.0.1:1", Prefix: "p", LogFormat: cli.LogText}, io.Discard)
	if cli.ExitCode(err) != cli.ExitUsage || !strings.Contains(err.Error(), "no output") {
		t.Errorf("run without output = %v, want the usage error 'no output'", err)
	}
	cfg := Config{Brokers: "127.0.0.1:1", Prefix: "p", Output: t.TempDir(), FlushSize: 1, LogFormat: cli.LogJSON}
	err = run(t.Context(), cfg, io.Discard)
	if cli.ExitCode(err) != cli.ExitFailure || !strings.Contains(err.Error(), "no Kafka broker answers") {
		t.Errorf("run with an unreachable broker = %v, want a failure", err)
	}
}

func TestBadConfigurationIsOneClearLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no output", []string{"--brokers", "127.0.0.1:1", "--prefix", "p"}, 2, "no output"},
		{"no topics", []string{"--brokers", "127.0.0.1:1", "--output", t.TempDir()}, 2, "no topics"},
		{"unknown flag", []string{"--bogus"}, 2, "flag provided but not defined: -bogus"},
		{"bad log format", []string{"--brokers", "127.0.0.1:1", "--prefix", "p", "--output", t.TempDir(), "--log-format", "xml"}, 2, `--log-format "xml"`},
		{"unreachable broker", []string{"--brokers", "127.0.0.1:1", "--prefix", "p", "--output", t.TempDir(), "--metrics", ""}, 1, "no Kafka broker answers at 127.0.0.1:1"},
		{"bad flush size", []string{"--brokers", "127.0.0.1:1", "--prefix", "p", "--output", t.TempDir(), "--flush-size", "-3"}, 2, "--flush-size -3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = append(os.Environ(), "PINPIPE_KAFKA_BROKERS=")
			out, err := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Fatalf("exit %d (%v), want %d; output:\n%s", code, err, tc.code, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "s3sink: ") || !strings.Contains(last, tc.want) {
				t.Errorf("last line %q, want 's3sink: ...%s...'", last, tc.want)
			}
		})
	}
}

// TestCrashExactlyOnce kills -9 the sink at random moments while records are
// produced, restarts it each time, and checks that every produced offset is
// landed exactly once with its original value.
func TestCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	for _, store := range []string{"file", "s3"} {
		t.Run(store, func(t *testing.T) {
			ctx := t.Context()
			bin := buildBinary(t)
			topics := []string{"c.pin", "c.geo", "c.user"}
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics...), kfake.GroupMinSessionTimeout(500*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cluster.Close)
			brokers := cluster.ListenAddrs()

			output := t.TempDir()
			env := os.Environ()
			if store == "s3" {
				st := devstack.Require(t, devstack.S3)
				output = "s3://" + st.NewBucket(t) + "/topics"
				env = append(env, st.Environ()...)
			}
			bucket, err := objstore.OpenConditional(ctx, output, objstore.Options{})
			if err != nil {
				t.Fatal(err)
			}

			// Produce continuously while the sink is killed and restarted.
			prodCtx, stopProducing := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := &kafka.Writer{Addr: kafka.TCP(brokers...), Balancer: &kafka.RoundRobin{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
				defer w.Close()
				for i := 0; prodCtx.Err() == nil; i++ {
					var msgs []kafka.Message
					for _, topic := range topics {
						msgs = append(msgs, kafka.Message{Topic: topic, Value: []byte(fmt.Sprintf(`{"ind":%d,"t":%q}`, i, topic))})
					}
					if err := w.WriteMessages(prodCtx, msgs...); err != nil && prodCtx.Err() == nil {
						t.Errorf("producing: %v", err)
						return
					}
					time.Sleep(2 * time.Millisecond)
				}
			}()

			rng := rand.New(rand.NewPCG(1, 2))
			start := func(metrics, flushSize string, extra ...string) *exec.Cmd {
				cmd := exec.Command(bin, append([]string{"--brokers", strings.Join(brokers, ","), "--topics", strings.Join(topics, ","),
					"--output", output, "--flush-size", flushSize, "--metrics", metrics, "--group", "crash", "--session-timeout", "6s"}, extra...)...)
				cmd.Env = env
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if t.Failed() {
						t.Logf("sink stderr:\n%s", stderr.String())
					}
				})
				return cmd
			}
			const kills = 8
			for i := 0; i < kills; i++ {
				metrics := devstack.FreeAddr(t)
				var cmd *exec.Cmd
				if i%2 == 0 {
					cmd = start(metrics, "4")
				} else {
					// Cuts by the wall clock: a flush size the records do
					// not reach between two 150ms boundaries.
					cmd = start(metrics, "500", "--rotate-schedule-interval", "150ms")
				}
				// Kill it while it lands: once it has stored an object of its
				// own, at a random moment. (Not while it joins: kfake keeps a
				// member whose JoinGroup answer could not be delivered and
				// never evicts it once the leader has synced, so its
				// partitions would never be read again. Counting the objects
				// in the bucket instead let that happen: the previous
				// instance's last requests change that count too.)
				for deadline := time.Now().Add(20 * time.Second); !storedObject(metrics) && time.Now().Before(deadline); {
					time.Sleep(20 * time.Millisecond)
				}
				time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
			}
			stopProducing()
			wg.Wait()

			// A last run, with one object per record (another cut than the
			// killed runs'), lands the rest, then stops cleanly on SIGTERM.
			metricsAddr := devstack.FreeAddr(t)
			cmd := start(metricsAddr, "1")
			for _, topic := range topics {
				want := landtest.PartitionLog(t, ctx, brokers, topic)
				n := 0
				for _, offs := range want {
					n += len(offs)
				}
				landtest.WaitLanded(t, ctx, bucket, topic, n)
			}
			// Records are counted when their offsets are committed, just
			// after they land.
			for path, want := range map[string]string{"/healthz": "ok", "/metrics": "pinpipe_s3sink_records_total{topic=\"c.pin\"}"} {
				body := httpGet(t, "http://"+metricsAddr+path)
				for deadline := time.Now().Add(10 * time.Second); !strings.Contains(body, want) && time.Now().Before(deadline); {
					time.Sleep(50 * time.Millisecond)
					body = httpGet(t, "http://"+metricsAddr+path)
				}
				if !strings.Contains(body, want) {
					t.Errorf("GET %s does not contain %q:\n%s", path, want, body)
				}
			}
			cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				t.Errorf("sink after SIGTERM: %v", err)
			}
			total := 0
			for _, topic := range topics {
				want := landtest.PartitionLog(t, ctx, brokers, topic)
				got, _ := landtest.Landed(t, ctx, bucket, topic)
				landtest.AssertSame(t, topic, want, got)
				for _, offs := range want {
					total += len(offs)
				}
			}
			t.Logf("%d records produced across %d kills, each landed once", total, kills)

			// The batch job reads what the sink landed: every record, once.
			res, err := batch.Run(ctx, batch.Config{Input: output, Prefix: "c", Tables: tables.Config{Warehouse: t.TempDir()}, Date: "2026-11-25"})
			if err != nil {
				t.Fatalf("batch job on the landed topics: %v", err)
			}
			for _, topic := range topics {
				want := 0
				for _, offs := range landtest.PartitionLog(t, ctx, brokers, topic) {
					want += len(offs)
				}
				q := res.Quality.Table(clean.Table(strings.TrimPrefix(topic, "c.")))
				if q.RowsRead != int64(want) {
					t.Errorf("batch job read %d records of %s, want %d", q.RowsRead, topic, want)
				}
			}
		})
	}
}

// storedObject reports whether the sink serving metrics on addr has stored
// an object (false while its metrics server is not up yet).
func storedObject(addr string) bool {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), "pinpipe_s3sink_objects_total{")
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
