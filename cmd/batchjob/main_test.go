package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/tabletest"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/sample"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

const prefix = "124a514b9149"

// binary builds batchjob once per test process.
func binary(t *testing.T) string { return devstack.Build(t, ".") }

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}

// landSample lays out the dirty records of posts sample posts under dir.
func landSample(t *testing.T, dir string, posts, perObject int) {
	t.Helper()
	b, err := objstore.Open(t.Context(), dir, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := sample.New(7)
	var in [3][][]byte
	for _, i := range sample.Posts(7, max(posts/3, 1), posts) {
		p, geo, u := g.DirtyRecords(i)
		in[0], in[1], in[2] = append(in[0], p), append(in[1], geo), append(in[2], u)
	}
	for i, tb := range clean.Tables {
		if err := batchtest.Write(t.Context(), b, landing.Topic(prefix, tb), in[i], batchtest.Layout{PerObject: perObject}); err != nil {
			t.Fatal(err)
		}
	}
}

func runBinary(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary(t), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown flag", []string{"--bogus"}, 2, "flag provided but not defined: -bogus"},
		{"no input", []string{"--prefix", prefix, "--warehouse", dir}, 2, "--input is required"},
		{"bad date", []string{"--input", dir, "--prefix", prefix, "--warehouse", dir, "--date", "2026-13-01"}, 2, "--date"},
		{"bad concurrency", []string{"--input", dir, "--prefix", prefix, "--warehouse", dir, "--concurrency", "0"}, 2, "--concurrency"},
		{"bad memory limit", []string{"--input", dir, "--prefix", prefix, "--warehouse", dir, "--memory-limit-mib", "-2"}, 2, "--memory-limit-mib"},
		{"extra argument", []string{"--input", dir, "--prefix", prefix, "--warehouse", dir, "extra"}, 2, "unexpected argument"},
		{"bad log format", []string{"--input", dir, "--prefix", prefix, "--warehouse", dir, "--log-format", "xml"}, 2, `--log-format "xml"`},
		{"missing input", []string{"--input", filepath.Join(dir, "nope"), "--prefix", prefix, "--warehouse", dir}, 1, "does not exist"},
		{"unwritable warehouse", []string{"--input", dir, "--prefix", prefix, "--warehouse", filepath.Join(file, "out")}, 1, "not a directory"},
		{"empty input", []string{"--input", dir, "--prefix", prefix, "--warehouse", filepath.Join(dir, "out"), "--date", "2026-11-24"}, 0, ""},
		{"relative date", []string{"--input", dir, "--prefix", prefix, "--warehouse", filepath.Join(dir, "out-yesterday"), "--date", "yesterday"}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runBinary(t, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.wantCode, stderr)
			}
			if tc.wantErr == "" {
				if !strings.Contains(stdout, "their tables are empty") {
					t.Errorf("stdout does not say the tables are empty:\n%s", stdout)
				}
				return
			}
			if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "batchjob: ") || !strings.Contains(lines[0], tc.wantErr) {
				t.Errorf("stderr %q, want one line starting with batchjob: and containing %q", stderr, tc.wantErr)
			}
		})
	}
}

// TestRunLogs runs the job in-process on an empty input with JSON logs: every
// line on stderr is a JSON record, and an invalid configuration is a usage
// error.
func TestRunLogs(t *testing.T) {
	dir := t.TempDir()
	cfg, err := parseFlags([]string{"--input", dir, "--prefix", prefix, "--warehouse", filepath.Join(dir, "out"),
		"--date", "2026-11-24", "--verbose", "--log-format", "json", "--progress", "never"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), cfg, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["msg"] == nil {
			t.Errorf("stderr line %q is not a JSON log record", l)
		}
	}
	if !strings.Contains(stderr.String(), `"topic":"`+landing.Topic(prefix, clean.TablePin)+`"`) {
		t.Errorf("stderr does not log the empty topic %s:\n%s", landing.Topic(prefix, clean.TablePin), stderr.String())
	}
	cfg.Concurrency = 0
	if err := run(t.Context(), cfg, io.Discard, io.Discard); cli.ExitCode(err) != cli.ExitUsage {
		t.Errorf("run of an invalid configuration = %v, want a usage error", err)
	}
}

func TestSummaries(t *testing.T) {
	dir := t.TempDir()
	landSample(t, filepath.Join(dir, "topics"), 600, 100)
	args := []string{"--input", filepath.Join(dir, "topics"), "--prefix", prefix, "--warehouse", filepath.Join(dir, "out"), "--date", "2026-11-24"}
	stdout, stderr, code := runBinary(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"popular_category_by_country", "median_followers_by_age_group_and_join_year", "quality", "rows read"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary has no %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out", filepath.FromSlash(batch.QualityFile(tables.DefaultNamespace, "2026-11-24")))); err != nil {
		t.Error(err)
	}
	report := filepath.Join(dir, "out", filepath.FromSlash(batch.ReportFile(tables.DefaultNamespace, "2026-11-24")))
	if _, err := os.Stat(report); err != nil || !strings.Contains(stdout, "\nreport: "+report+"\n") {
		t.Errorf("report.html (--report is on by default): %v; the summary must end with its location %s:\n%s", err, report, stdout)
	}

	stdout, stderr, code = runBinary(t, append(args, "--json", "--full", "--report=false")...) // --full: reads the input again
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var js struct {
		Ok       bool                      `json:"ok"`
		Lines    int64                     `json:"lines"`
		Insights map[string]map[string]any `json:"insights"`
		Quality  clean.Quality             `json:"quality"`
		Report   *string                   `json:"report"`
	}
	if err := json.Unmarshal([]byte(stdout), &js); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if !js.Ok || js.Lines < 1800 || len(js.Insights) != 9 || js.Quality.Pin.RowsRead == 0 {
		t.Errorf("--json summary: ok=%v lines=%d insights=%d pin rows read=%d", js.Ok, js.Lines, len(js.Insights), js.Quality.Pin.RowsRead)
	}
	if js.Report != nil {
		t.Errorf("--report=false: the summary names a report %s", *js.Report)
	}
}

// TestKilled kills the binary with SIGKILL part way through a run over a
// large input: every table's current snapshot is then the previous run's or
// the new one's (killed while publishing: some tables each), and every file
// they list is there.
func TestKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	dir := t.TempDir()
	landSample(t, filepath.Join(dir, "small"), 30, 10)
	landSample(t, filepath.Join(dir, "big"), 30000, 20)
	out := filepath.Join(dir, "out")
	if _, stderr, code := runBinary(t, "--input", filepath.Join(dir, "small"), "--prefix", prefix, "--warehouse", out, "--date", "2026-11-24"); code != 0 {
		t.Fatalf("first run: %s", stderr)
	}
	before := tableRuns(t, out)

	cmd := exec.Command(binary(t), "--input", filepath.Join(dir, "big"), "--prefix", prefix, "--warehouse", out, "--date", "2026-11-24", "--concurrency", "2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	if err == nil {
		t.Log("the run ended before it was killed")
	}
	after := tableRuns(t, out)
	changed := 0
	for table, run := range after {
		switch {
		case run == before[table]:
		case run == "":
			t.Errorf("table %s has no snapshot", table)
		default:
			changed++
		}
	}
	switch {
	case changed == 0:
		t.Log("killed before publishing: the previous run is intact")
	case changed == len(after):
		t.Log("the new run was published whole")
	default:
		t.Logf("killed while publishing: %d of %d tables at the new run", changed, len(after))
	}
}

// tableRuns reads the run id of each batch table's current snapshot, and
// every file the snapshot lists.
func tableRuns(t *testing.T, warehouse string) map[string]string {
	t.Helper()
	cat := tabletest.Open(t, tables.Config{Warehouse: warehouse})
	defer cat.Close()
	runs := map[string]string{}
	for _, def := range batch.Defs() {
		tbl, err := cat.Ensure(t.Context(), def)
		if err != nil {
			t.Fatal(err)
		}
		if snap := tbl.Iceberg().CurrentSnapshot(); snap != nil {
			runs[def.Name] = snap.Summary.Properties[batch.SummaryRunID]
		}
		files, err := tbl.LiveFiles(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if _, err := cat.ReadFile(t.Context(), f.FilePath()); err != nil {
				t.Errorf("table %s lists a missing file: %v", def.Name, err)
			}
		}
	}
	return runs
}
