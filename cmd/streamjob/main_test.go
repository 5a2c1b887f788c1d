package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/internal/devstack"
	st "github.com/pinpipe/pinpipe/internal/streamtest"
	"github.com/pinpipe/pinpipe/internal/tabletest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/stream"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}

// binary builds the streamjob binary once per test process.
func binary(t *testing.T) string { return devstack.Build(t, ".") }

// TestParseFlags checks the usage errors and the logger flags, in-process.
func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"--prefix", "p", "--warehouse", "/tmp/x"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LogFormat != cli.LogText || cfg.LogLevel != "info" {
		t.Errorf("log format %q, level %q; want text, info", cfg.LogFormat, cfg.LogLevel)
	}
	if streams, _ := cfg.streamMap(); streams[clean.TableGeo] != "streaming-p-geo" {
		t.Errorf("streams %v, want streaming-p-geo for geo", streams)
	}
	for _, args := range [][]string{
		{"--bogus"},
		{"--prefix", "p"},
		{"--prefix", "p", "--warehouse", "/tmp/x", "--log-format", "xml"},
		{"--prefix", "p", "--warehouse", "/tmp/x", "--log-level", "loud"},
		{"--prefix", "p", "--warehouse", "/tmp/x", "extra"},
	} {
		if _, err := parseFlags(args, io.Discard); cli.ExitCode(err) != cli.ExitUsage {
			t.Errorf("parseFlags(%q) = %v, want a usage error", args, err)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
	if err := run(t.Context(), Config{Prefix: "p"}, io.Discard); cli.ExitCode(err) != cli.ExitUsage {
		t.Errorf("run of an invalid configuration = %v, want a usage error", err)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Prefix: "p", Tables: tables.Config{Warehouse: "/tmp/x"}, FlushRecords: 10, FlushInterval: time.Second,
		CommitInterval: time.Second, DiscoverInterval: time.Second, LogLevel: "info"}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" for valid
	}{
		{"valid", func(*Config) {}, ""},
		{"no warehouse", func(c *Config) { c.Tables.Warehouse = "" }, "--warehouse"},
		{"S3 warehouse without catalog", func(c *Config) { c.Tables.Warehouse = "s3://b/w" }, "--catalog is required"},
		{"S3 warehouse, PostgreSQL catalog", func(c *Config) { c.Tables = tables.Config{Catalog: "postgres://u@h/db", Warehouse: "s3://b/w"} }, ""},
		{"bad catalog", func(c *Config) { c.Tables.Catalog = "mysql://h/db" }, "unsupported scheme"},
		{"short orphan age", func(c *Config) { c.Maintenance.OrphanAge = time.Minute }, "orphan age"},
		{"no prefix", func(c *Config) { c.Prefix = "" }, "--prefix or --streams"},
		{"named streams", func(c *Config) { c.Prefix, c.Streams = "", "a-pin,geo=b" }, ""},
		{"unknown table", func(c *Config) { c.Streams = "abc" }, "cannot tell the table"},
		{"two for one table", func(c *Config) { c.Streams = "a-pin,b-pin" }, "two streams"},
		{"bad position", func(c *Config) { c.InitialPosition = "oldest" }, "--initial-position"},
		{"at_timestamp without time", func(c *Config) { c.InitialPosition = "at_timestamp" }, "--at-timestamp"},
		{"at_timestamp", func(c *Config) { c.InitialPosition, c.AtTimestamp = "at_timestamp", "2024-05-01T12:00:00Z" }, ""},
		{"zero flush records", func(c *Config) { c.FlushRecords = 0 }, "--flush-records"},
		{"bad log level", func(c *Config) { c.LogLevel = "loud" }, "--log-level"},
		{"bad log format", func(c *Config) { c.LogFormat = "xml" }, "--log-format"},
		{"json logs", func(c *Config) { c.LogFormat = "json" }, ""},
		{"negative unhealthy-after", func(c *Config) { c.UnhealthyAfter = -time.Second }, "--unhealthy-after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRunBadConfig(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis)
	api := st.KinesisClient(env, env.KinesisEndpoint)
	s := landing.Stream(st.UniqueName("t-"), clean.TablePin)
	st.CreateStream(t, api, s, 1)
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		streams string
		output  string
		env     map[string]string
		want    string
	}{
		{"missing stream", landing.Stream("nope", clean.TablePin), t.TempDir(), nil, "does not exist"},
		{"warehouse not writable", s, filepath.Join(notDir, "out"), nil, "not a directory"},
		{"no credentials", s, t.TempDir(), map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
			"AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
			"AWS_CONFIG_FILE": "/nonexistent"}, "no AWS credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg := Config{Streams: tc.streams, Tables: tables.Config{Catalog: "sqlite://" + filepath.Join(t.TempDir(), "c.db"), Warehouse: tc.output},
				FlushRecords: 10, FlushInterval: time.Second, CommitInterval: time.Second, DiscoverInterval: time.Second, LogLevel: "info"}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			err := run(ctx, cfg, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("run() = %v, want one line containing %q", err, tc.want)
			}
			if tc.want == "no AWS credentials" && !errors.Is(err, kinesisx.ErrNoCredentials) {
				t.Errorf("run() = %v, want ErrNoCredentials", err)
			}
		})
	}
}

// proc is a running streamjob binary.
type proc struct {
	cmd  *exec.Cmd
	done chan error
	log  string
}

func startBinary(t *testing.T, args ...string) *proc {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "streamjob-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), log: logf.Name()}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done })
	return p
}

func (p *proc) tail(t *testing.T) string {
	data, _ := os.ReadFile(p.log)
	s := string(data)
	if len(s) > 3000 {
		s = s[len(s)-3000:]
	}
	return s
}

// term sends SIGTERM and waits for the exit, which must come within 10s.
func (p *proc) term(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("streamjob exited with %v after SIGTERM\n%s", err, p.tail(t))
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("streamjob still running 10s after SIGTERM\n%s", p.tail(t))
	}
}

// metric returns the value of the first sample line starting with name.
func metric(addr, name string) (float64, bool) {
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, name+" ") {
			var v float64
			if _, err := fmt.Sscan(strings.TrimPrefix(line, name+" "), &v); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}

// waitOutput waits until every put record is committed (counting the
// tables' rows).
func waitOutput(t *testing.T, cat *tables.Catalog, puts []st.Put, p *proc) st.Output {
	t.Helper()
	rows, rejects := st.Expected(puts)
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := st.ReadPins(t, cat)
		if len(got.Rows) >= rows && len(got.Rejects) >= rejects {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: %d rows and %d rejects stored, want %d and %d\n%s", len(got.Rows), len(got.Rejects), rows, rejects, p.tail(t))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestGracefulStop(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis|devstack.S3)
	api := st.KinesisClient(env, env.KinesisEndpoint)
	s := landing.Stream(st.UniqueName("t-"), clean.TablePin)
	st.CreateStream(t, api, s, 2)
	// The warehouse on S3, the catalog a local SQLite file.
	catURL := "sqlite://" + filepath.Join(t.TempDir(), "catalog.db")
	whURL := "s3://" + env.NewBucket(t) + "/warehouse"
	addr := devstack.FreeAddr(t)
	// Nothing flushes before the stop: the records are committed at SIGTERM.
	p := startBinary(t, "--streams", s, "--catalog", catURL, "--warehouse", whURL, "--flush-records", "1000000", "--flush-interval", "1h",
		"--with-source-columns", "--metrics", addr, "--discover-interval", "1s")
	puts := st.PutAll(t, api, s, st.PinRecords(5, 0, 2000))
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, _ := metric(addr, `pinpipe_stream_records_in_total{table="pin"}`)
		if v >= float64(len(puts)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %v records read, want %d\n%s", v, len(puts), p.tail(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := getHealthz(t, addr); code != http.StatusOK || body != "ok" {
		t.Fatalf("/healthz while healthy: %d %q, want 200 ok\n%s", code, body, p.tail(t))
	}
	cat := openCatalog(t, catURL, whURL)
	if n := len(st.ReadPins(t, cat).Rows); n != 0 {
		t.Fatalf("%d rows committed before the stop, want 0 (flush interval 1h)", n)
	}
	// Nothing is committed yet: the running report counts nothing.
	res, err := http.Get("http://" + addr + "/quality")
	if err != nil {
		t.Fatal(err)
	}
	var rep stream.QualityReport
	err = json.NewDecoder(res.Body).Decode(&rep)
	res.Body.Close()
	if err != nil || rep.Quality.Pin.RowsRead != 0 || rep.Streams[clean.TablePin] != s {
		t.Errorf("/quality before the stop: %+v, %v; want no rows read, stream %s", rep, err, s)
	}
	p.term(t)
	st.CheckExactlyOnce(t, st.ReadPins(t, cat), s, puts)
	st.CheckQuality(t, st.ReadQuality(t, cat, tables.StreamDef(clean.TablePin, true)), puts)
}

// openCatalog opens the catalog a binary writes, to read its tables.
func openCatalog(t *testing.T, catalog, warehouse string) *tables.Catalog {
	t.Helper()
	c, err := tables.Open(t.Context(), tables.Config{Catalog: catalog, Warehouse: warehouse})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// getHealthz returns the status code and the trimmed body of /healthz (0 when
// the request fails).
func getHealthz(t *testing.T, addr string) (int, string) {
	t.Helper()
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(body))
}

// waitHealthz polls /healthz until it answers code, or fails after 30s.
func waitHealthz(t *testing.T, addr string, code int, p *proc) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, body := getHealthz(t, addr)
		if got == code {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s /healthz answers %d %q, want %d\n%s", got, body, code, p.tail(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestHealthzFlushFailing replaces the tables' directory of the warehouse by
// a file while the job runs: flushes fail and are retried, /healthz turns
// 503 naming the failing flush after --unhealthy-after, and 200 again once
// the directory is back.
func TestHealthzFlushFailing(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis)
	api := st.KinesisClient(env, env.KinesisEndpoint)
	s := landing.Stream(st.UniqueName("t-"), clean.TablePin)
	st.CreateStream(t, api, s, 1)
	wh := filepath.Join(t.TempDir(), "warehouse")
	addr := devstack.FreeAddr(t)
	p := startBinary(t, "--streams", s, "--warehouse", wh, "--flush-records", "10", "--flush-interval", "200ms",
		"--metrics", addr, "--discover-interval", "1s", "--unhealthy-after", "2s")
	waitHealthz(t, addr, http.StatusOK, p)
	dir := filepath.Join(wh, "pinpipe.db") // the namespace's tables

	moved := dir + ".moved"
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	st.PutAll(t, api, s, st.PinRecords(7, 0, 50))
	if body := waitHealthz(t, addr, http.StatusServiceUnavailable, p); !strings.Contains(body, "flush of shard "+s+"/") ||
		strings.Contains(body, "\n") {
		t.Errorf("/healthz body %q, want one line naming the failing flush of a shard of %s", body, s)
	} else {
		t.Logf("/healthz: 503 %s", body)
	}

	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(moved, dir); err != nil {
		t.Fatal(err)
	}
	if body := waitHealthz(t, addr, http.StatusOK, p); body != "ok" {
		t.Errorf("/healthz body %q after recovery, want ok", body)
	}
	p.term(t)
}

// TestCrashRecovery runs two instances of the job on the same tables at
// once, as a rolling update does, and kills one of them with SIGKILL at
// random moments while records are put (half of them KPL-aggregated),
// starting another in its place with another flush size; then it checks that
// every (user) record is stored exactly once, reading the tables back through the catalog (pkg/parquetio) and
// through DuckDB over the data files the current snapshot lists.
func TestCrashRecovery(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis)
	api := st.KinesisClient(env, env.KinesisEndpoint)
	s := landing.Stream(st.UniqueName("t-"), clean.TablePin)
	st.CreateStream(t, api, s, 3)
	dir := t.TempDir()

	var mu sync.Mutex
	var puts []st.Put
	stopPut := make(chan struct{})
	putDone := make(chan struct{})
	go func() {
		defer close(putDone)
		for i := 0; ; i += 40 {
			select {
			case <-stopPut:
				return
			case <-time.After(40 * time.Millisecond):
			}
			recs := st.PinRecords(6, i, 40)
			if i%80 != 0 {
				recs = st.Aggregate(recs, 1+i%9) // as a KPL producer puts them
			}
			p := st.PutAll(t, api, s, recs)
			mu.Lock()
			puts = append(puts, p...)
			mu.Unlock()
		}
	}()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 6))
	const kills = 12
	args := func() []string {
		return []string{"--streams", s, "--warehouse", dir, "--with-source-columns", "--discover-interval", "1s",
			"--flush-records", fmt.Sprint(20 + rng.IntN(300)), "--flush-interval", fmt.Sprintf("%dms", 100+rng.IntN(400)),
			"--commit-interval", fmt.Sprintf("%dms", 200+rng.IntN(800)), "--log-level", "warn"}
	}
	running := []*proc{startBinary(t, args()...), startBinary(t, args()...)}
	for k := range kills {
		time.Sleep(time.Duration(200+rng.IntN(900)) * time.Millisecond)
		i := rng.IntN(len(running))
		if err := running[i].cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		<-running[i].done
		running[i].done <- nil
		running[i] = startBinary(t, args()...)
	}
	for _, p := range running {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		p.done <- nil
	}
	close(stopPut)
	<-putDone
	// The truth is what the stream holds: a put whose answer was lost is
	// there although PutAll did not see it. Every acknowledged put is in it.
	inStream := st.ReadStream(t, api, s)
	have := map[string]bool{}
	for _, r := range inStream {
		have[r.Key()] = true
	}
	for _, r := range puts {
		if !have[r.Key()] {
			t.Fatalf("acknowledged put %s is not in the stream", r.Key())
		}
	}
	if extra := len(inStream) - len(puts); extra > 0 {
		t.Logf("%d records are in the stream whose PutRecords answer was lost", extra)
	}
	puts = st.UserRecords(t, inStream)
	p := startBinary(t, args()...)
	cat := openCatalog(t, "sqlite://"+filepath.Join(dir, tables.DefaultCatalogFile), dir)
	waitOutput(t, cat, puts, p)
	p.term(t)
	got := st.ReadPins(t, cat)
	st.CheckExactlyOnce(t, got, s, puts)
	// Each committed record counted once, whatever the kills and replays.
	st.CheckQuality(t, st.ReadQuality(t, cat, tables.StreamDef(clean.TablePin, true)), puts)
	t.Logf("%d records put (in %d Kinesis records) across %d kills of two overlapping instances; %d files", len(puts), len(inStream), kills, got.Files)

	// The same through DuckDB: the rows of the files the snapshot lists,
	// one per record put and accepted.
	var locs []string
	for loc := range tabletest.Files(t, cat, tables.StreamDef(clean.TablePin, true)) {
		locs = append(locs, "'"+strings.TrimPrefix(loc, "file://")+"'")
	}
	rows, _ := st.Expected(puts)
	res := devstack.DuckDB(t, fmt.Sprintf(`SELECT count(*) AS n, count(DISTINCT (%s, %s)) AS keys FROM read_parquet([%s])`,
		parquetio.ColShard, parquetio.ColSequence, strings.Join(locs, ", ")))
	if n, keys := res[0][0]["n"], res[0][0]["keys"]; fmt.Sprint(n) != fmt.Sprint(rows) || fmt.Sprint(keys) != fmt.Sprint(rows) {
		t.Errorf("DuckDB over the live files: %v rows, %v distinct records, want %d of each", n, keys, rows)
	}
}
