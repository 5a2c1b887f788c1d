package batch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/tabletest"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

func TestEmptyInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	res := runJob(t, t.Context(), batch.Config{Input: dir, Prefix: testPrefix, Tables: tablesAt(t, out), Date: "2026-11-24"})
	if want := []string{testPrefix + ".pin", testPrefix + ".geo", testPrefix + ".user"}; !slices.Equal(res.EmptyTopics, want) {
		t.Errorf("EmptyTopics = %v, want %v", res.EmptyTopics, want)
	}
	o := readOutput(t, tablesAt(t, out), "2026-11-24")
	if len(o.pins)+len(o.geos)+len(o.users) != 0 {
		t.Errorf("clean tables are not empty")
	}
	for _, name := range insights.Names() {
		if rows := o.insights[name]; len(rows) != 1 { // the header only
			t.Errorf("%s = %v, want no rows", name, rows)
		}
	}
	for _, f := range o.files {
		if tb, _, _ := strings.Cut(f, "/"); slices.Contains(clean.Tables[:], clean.Table(tb)) || tb == tables.BatchQuarantine {
			t.Errorf("file %s for an empty table: an empty bucket or quarantine has no file", f)
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := writeFile(notDir); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     batch.Config
		wantErr string
	}{
		{"missing input", batch.Config{Input: filepath.Join(dir, "nope"), Prefix: testPrefix, Tables: tablesAt(t, dir)}, "does not exist"},
		{"unwritable output", batch.Config{Input: dir, Prefix: testPrefix, Tables: tablesAt(t, filepath.Join(notDir, "out"))}, "not a directory"},
		{"bad date", batch.Config{Input: dir, Prefix: testPrefix, Tables: tablesAt(t, dir), Date: "2026-02-30"}, "YYYY-MM-DD"},
		{"no prefix", batch.Config{Input: dir, Tables: tablesAt(t, dir)}, "prefix is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := batch.Run(t.Context(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func writeFile(p string) error {
	b := openBucketDir(filepath.Dir(p))
	return b.Put(context.Background(), filepath.Base(p), bytes.NewReader([]byte("x")))
}

func openBucketDir(dir string) objstore.Bucket {
	b, _ := objstore.Open(context.Background(), dir, objstore.Options{})
	return b
}

// TestCancelledRunPublishesNothing publishes a run, then cancels a second run
// over more input while it reads: the second run returns the cancellation's
// cause and the first run stays published as it was.
func TestCancelledRunPublishesNothing(t *testing.T) {
	dir := t.TempDir()
	small := openStore(t, filepath.Join(dir, "small"), objstore.Options{})
	land(t, small, handBuilt(), batchtest.Layout{})
	big := openStore(t, filepath.Join(dir, "big"), objstore.Options{})
	land(t, big, generated(20000, 5000), batchtest.Layout{PerObject: 20})
	outDir := filepath.Join(dir, "out")
	runJob(t, t.Context(), batch.Config{Input: small.URL(""), Prefix: testPrefix, Tables: tablesAt(t, outDir), Date: "2026-11-24"})
	before := readOutput(t, tablesAt(t, outDir), "2026-11-24")

	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("stopped by the test")
	progress := new(batch.Progress)
	go func() {
		for progress.ObjectsDone.Load() < 50 {
			time.Sleep(time.Millisecond)
		}
		cancel(stop)
	}()
	_, err := batch.Run(ctx, batch.Config{Input: big.URL(""), Prefix: testPrefix, Tables: tablesAt(t, outDir), Date: "2026-11-24", Concurrency: 2, Progress: progress})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the cancellation's cause", err)
	}
	unchanged(t, before, readOutput(t, tablesAt(t, outDir), "2026-11-24"))
}

// TestSnapshotsNameTheRun: every table's current snapshot carries the run's
// id, date and quality report in its summary.
func TestSnapshotsNameTheRun(t *testing.T) {
	src, cfg := landedAt(t, handBuilt(), batchtest.Layout{})
	res := runJob(t, t.Context(), batch.Config{Input: src.URL(""), Prefix: testPrefix, Tables: cfg, Date: "2026-11-24", RunID: "run-one"})
	cat := tabletest.Open(t, cfg)
	defer cat.Close()
	for _, def := range batch.Defs() {
		tbl, err := cat.Ensure(t.Context(), def)
		check(t, def.Name, err)
		snap := tbl.Iceberg().CurrentSnapshot()
		if snap == nil || snap.SnapshotID != res.Snapshots[def.Name] {
			t.Fatalf("%s: current snapshot %v, want the run's %d", def.Name, snap, res.Snapshots[def.Name])
		}
		p := snap.Summary.Properties
		if p[batch.SummaryRunID] != "run-one" || p[batch.SummaryRunDate] != "2026-11-24" {
			t.Errorf("%s: snapshot summary %v, want the run's id and date", def.Name, p)
		}
		// The run's quality is in the snapshot of pin, not repeated in the
		// others'.
		var q batch.QualityReport
		isPin := def.Name == string(clean.TablePin)
		if raw, ok := p[batch.SummaryQuality]; ok != isPin || (isPin && (json.Unmarshal([]byte(raw), &q) != nil || q.Quality.User.RowsRead != res.Quality.User.RowsRead || q.Full != res.Full)) {
			t.Errorf("%s: snapshot summary %v: want the run's quality exactly on pin", def.Name, p)
		}
	}
}

// TestTwoRunsOfOneDateAtOnce: two --full runs of the same date over
// different input, at the same time. Both succeed; each table ends with one
// run's files, and neither run's commit removed a file the other one's
// snapshot lists (files go only with maintenance).
func TestTwoRunsOfOneDateAtOnce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { twoRunsAtOnce(t, tablesAt(t, filepath.Join(t.TempDir(), "out"))) })
	// The shared deployment: a PostgreSQL catalog, the warehouse on S3.
	t.Run("postgres-s3", func(t *testing.T) {
		env := devstack.Require(t, devstack.Postgres|devstack.S3)
		twoRunsAtOnce(t, tables.Config{Catalog: env.NewPostgresSchema(t), Warehouse: "s3://" + env.NewBucket(t) + "/warehouse"})
	})
}

func twoRunsAtOnce(t *testing.T, cfg tables.Config) {
	dir := t.TempDir()
	a := openStore(t, filepath.Join(dir, "a"), objstore.Options{})
	land(t, a, handBuilt(), batchtest.Layout{})
	b := openStore(t, filepath.Join(dir, "b"), objstore.Options{})
	land(t, b, generated(500, 200), batchtest.Layout{PerObject: 50})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, in := range []objstore.Bucket{a, b} {
		wg.Go(func() {
			_, errs[i] = batch.Run(t.Context(), batch.Config{Input: in.URL(""), Prefix: testPrefix, Tables: cfg, Date: "2026-11-24",
				RunID: fmt.Sprint("run-", i), Full: true})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	o := readOutput(t, cfg, "2026-11-24") // fails on a missing file
	for table, run := range o.runs {
		if run != "run-0" && run != "run-1" {
			t.Errorf("table %s: current snapshot of run %q", table, run)
		}
	}
	wantA, wantB := fileRun(t, handBuilt(), batchtest.Layout{}), fileRun(t, generated(500, 200), batchtest.Layout{PerObject: 50})
	switch o.runs[string(clean.TablePin)] {
	case "run-0":
		if len(o.pins) != len(wantA.pins) {
			t.Errorf("pin holds %d rows, want run-0's %d", len(o.pins), len(wantA.pins))
		}
	case "run-1":
		if len(o.pins) != len(wantB.pins) {
			t.Errorf("pin holds %d rows, want run-1's %d", len(o.pins), len(wantB.pins))
		}
	}
}
