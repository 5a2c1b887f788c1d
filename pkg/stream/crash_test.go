package stream_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/faultstore"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/stream"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// openFaulty opens the catalog of dir with its warehouse behind a fault
// store, whose sequence of requests also counts the catalog commits.
func openFaulty(t *testing.T, dir string) (*tables.Catalog, *faultstore.Store) {
	t.Helper()
	wh := filepath.Join(dir, "warehouse")
	b, err := objstore.OpenConditional(t.Context(), wh, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := faultstore.New(b)
	cat, err := tables.Open(t.Context(), tables.Config{Catalog: "sqlite://" + filepath.Join(dir, "catalog.db"), Warehouse: wh,
		WarehouseStore: fs,
		CommitHook: func(table string, commit func() error) error {
			return fs.Step(context.Background(), "commit "+table, commit)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat, fs
}

func openPlain(t *testing.T, dir string) *tables.Catalog {
	t.Helper()
	cat, err := tables.Open(t.Context(), tables.Config{Catalog: "sqlite://" + filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "warehouse")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

// closeShards splits every open shard of the stream, so that the shards
// holding the records end; it returns them.
func (s *fakeStream) closeShards(shards ...string) {
	s.t.Helper()
	for _, id := range shards {
		if _, _, err := s.fake.SplitShard(s.name, id, ""); err != nil {
			s.t.Fatal(err)
		}
	}
}

// closed reports whether both tables hold the shards as closed.
func closed(ctx context.Context, cat *tables.Catalog, stream_ string, shards []string) (bool, error) {
	for _, def := range []tables.Def{tables.StreamDef(clean.TablePin, true), tables.StreamQuarantineDef()} {
		tbl, err := cat.Ensure(ctx, def)
		if err != nil {
			return false, err
		}
		ps, err := stream.ParsePositions(tbl.Properties())
		if err != nil {
			return false, err
		}
		for _, id := range shards {
			if !ps[stream_][id].Closed {
				return false, nil
			}
		}
	}
	return true, nil
}

func waitClosed(t *testing.T, cat *tables.Catalog, stream_ string, shards []string, crashed <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-crashed:
			return
		default:
		}
		ok, err := closed(t.Context(), cat, stream_, shards)
		if err != nil {
			select {
			case <-crashed:
				return
			default:
			}
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("shards %v not closed in both tables after 30s", shards)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var parents = []string{"shardId-000000000000", "shardId-000000000001"}

// TestCrashAtEveryStep crashes the job at each of its requests in turn (a
// data file, a metadata file, a catalog commit), the request lost or applied
// with its answer lost; a restarted job then reads on from the committed
// positions. Every record must be in its table exactly once.
func TestCrashAtEveryStep(t *testing.T) {
	crashAtEveryStep(t, 5, func(s *fakeStream) { s.put(60) })
}

// TestCrashAtEveryStepAggregated: the same with KPL-aggregated records,
// flushes cut every few records (between Kinesis records, never inside
// one): every user record is in its table exactly once.
func TestCrashAtEveryStepAggregated(t *testing.T) {
	crashAtEveryStep(t, 11, func(s *fakeStream) { s.putAggregated(60) })
}

// crashAtEveryStep crashes a job that reads the records put at each of its
// steps in turn; under -short, at every shortStride-th step.
func crashAtEveryStep(t *testing.T, shortStride int, put func(*fakeStream)) {
	run := func(t *testing.T, crashAt int, after bool) (steps int) {
		dir := t.TempDir()
		s := newFakeStream(t, 2)
		put(s)
		s.closeShards(parents...)
		cat, fs := openFaulty(t, dir)
		if crashAt > 0 {
			fs.CrashAt(crashAt, after)
		}
		_, stop := startJob(t, s, cat, stream.Options{FlushRecords: 9, IdleCommit: time.Nanosecond, ShutdownTimeout: 100 * time.Millisecond})
		waitClosed(t, cat, s.name, parents, fs.Crashed())
		if err := stop(); err != nil && crashAt == 0 {
			t.Errorf("Run: %v", err) // a crashed job may fail to start
		}
		if crashAt > 0 {
			cat = openPlain(t, dir)
			_, stop := runJob(t, s, cat, stream.Options{FlushRecords: 13})
			waitClosed(t, cat, s.name, parents, nil)
			stop()
		}
		if !s.check(cat) {
			t.Logf("requests of the crashed run: %q", fs.Log())
		}
		return fs.Mutations()
	}
	steps := run(t, 0, false)
	if steps < 10 {
		t.Fatalf("a clean run made %d requests", steps)
	}
	stride := 1
	if testing.Short() {
		stride = shortStride // a few of the steps in the quick loop; make test runs them all
	}
	for k := 1; k <= steps; k += stride {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("step-%d-applied-%v", k, after), func(t *testing.T) { run(t, k, after) })
		}
	}
}

// TestCatalogUnreachable: every commit fails for a while (the catalog is
// down) while records arrive; the job retries, /healthz names the failing
// commits once past FlushFailingAfter, and once the catalog is back every
// record is committed once.
func TestCatalogUnreachable(t *testing.T) {
	dir := t.TempDir()
	var down atomic.Bool
	var failed atomic.Int64
	cat, err := tables.Open(t.Context(), tables.Config{Catalog: "sqlite://" + filepath.Join(dir, "catalog.db"),
		Warehouse: filepath.Join(dir, "warehouse"),
		CommitHook: func(table string, commit func() error) error {
			if down.Load() {
				failed.Add(1)
				return errors.New("dial tcp 10.0.0.1:5432: connect: connection refused")
			}
			return commit()
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	s := newFakeStream(t, 2)
	s.put(40)
	job, stop := runJob(t, s, cat, stream.Options{FlushRecords: 6, FlushFailingAfter: 50 * time.Millisecond})
	waitRead(t, job, 40)
	down.Store(true)
	s.put(40) // a shard reads on until its next flush waits for the failing one
	deadline := time.Now().Add(30 * time.Second)
	for err := job.Health(); err == nil || !strings.Contains(err.Error(), "connection refused"); err = job.Health() {
		if time.Now().After(deadline) {
			t.Fatalf("Health() = %v after 30s of failing commits, want the commit's error", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	down.Store(false)
	for err := job.Health(); err != nil; err = job.Health() {
		if time.Now().After(deadline) {
			t.Fatalf("Health() = %v after the catalog came back", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitRead(t, job, 80)
	stop()
	if failed.Load() == 0 {
		t.Fatal("no commit failed")
	}
	s.check(cat)
}

// TestWarehouseFaults: writes of data files fail now and then (S3 503s,
// dropped connections); they are retried and nothing is lost or doubled.
func TestWarehouseFaults(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse")
	b, err := objstore.OpenConditional(t.Context(), wh, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := faultstore.New(b)
	fs.FailEvery(7, errors.New("503 Slow Down")) // a commit writes three files: most attempts get through
	cat, err := tables.Open(t.Context(), tables.Config{Catalog: "sqlite://" + filepath.Join(dir, "catalog.db"), Warehouse: wh, WarehouseStore: fs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	s := newFakeStream(t, 2)
	s.put(60)
	job, stop := runJob(t, s, cat, stream.Options{FlushRecords: 8})
	waitRead(t, job, 60)
	stop()
	fs.FailEvery(0, nil)
	s.check(openPlain(t, dir))
}
