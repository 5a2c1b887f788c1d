package stream_test

import (
	"context"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/faultstore"
	"github.com/pinpipe/pinpipe/pkg/objstore"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/stream"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// catalogs opens handles on one catalog and warehouse, as separate
// processes would: SQLite and a directory, or (integration) PostgreSQL and
// S3. A faulty handle's warehouse requests and commits go through a fault
// store.
type catalogs func(t *testing.T) opener

type opener func(faulty bool) (*tables.Catalog, *faultstore.Store)

// plain opens a handle without faults.
func (o opener) plain() *tables.Catalog {
	c, _ := o(false)
	return c
}

func sqliteCatalogs(t *testing.T) opener {
	dir := t.TempDir()
	return func(faulty bool) (*tables.Catalog, *faultstore.Store) {
		if faulty {
			return openFaulty(t, dir)
		}
		return openPlain(t, dir), nil
	}
}

func postgresCatalogs(t *testing.T) opener {
	env := devstack.Require(t, devstack.Postgres|devstack.S3)
	url := env.NewPostgresSchema(t)
	wh := "s3://" + env.NewBucket(t) + "/warehouse"
	return func(faulty bool) (*tables.Catalog, *faultstore.Store) {
		cfg := tables.Config{Catalog: url, Warehouse: wh}
		var fs *faultstore.Store
		if faulty {
			b, err := objstore.OpenConditional(t.Context(), wh, objstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			fs = faultstore.New(b)
			cfg.WarehouseStore = fs
			cfg.CommitHook = func(table string, commit func() error) error {
				return fs.Step(context.Background(), "commit "+table, commit)
			}
		}
		c, err := tables.Open(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, fs
	}
}

// TestTwoInstancesAtOnce runs two jobs on the same tables while records
// are put (a rolling update, or a mistake): their commits conflict, the
// loser of each drops what the other committed and goes on from the
// committed positions. Half way, one of them dies (every request of it
// fails from then on) and a third one starts. Every record is in its table
// once.
func TestTwoInstancesAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		open catalogs
	}{{"sqlite", sqliteCatalogs}, {"postgres-s3", postgresCatalogs}} {
		t.Run(tc.name, func(t *testing.T) {
			open := tc.open(t)
			s := newFakeStream(t, 3)
			catA := open.plain()
			catB, faultB := open(true)
			shards := []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000002"}
			// A finite flush interval: a job that starts (or restarts) a
			// shard after another has committed part of it never reads
			// those records, and the rest, fewer than a flush, must still
			// be committed for the waits below to end.
			jobA, stopA := runJob(t, s, catA, stream.Options{FlushRecords: 7, FlushInterval: 200 * time.Millisecond})
			jobB, stopB := startJob(t, s, catB, stream.Options{FlushRecords: 11, FlushInterval: 200 * time.Millisecond, ShutdownTimeout: 100 * time.Millisecond})
			for range 4 {
				s.put(25)
				// Both read everything, each in its own cuts; or one finds
				// the other has committed the rest.
				s.waitReadOrCommitted(jobA, jobA, jobB)
				s.waitReadOrCommitted(jobB, jobA, jobB)
			}
			s.put(13)
			faultB.Crash() // B dies with what it holds
			jobC, stopC := runJob(t, s, open.plain(), stream.Options{FlushRecords: 5, FlushInterval: 200 * time.Millisecond})
			for range 4 {
				s.put(25)
				s.waitReadOrCommitted(jobA, jobA, jobB, jobC)
			}
			s.closeShards(shards...)
			waitClosed(t, catA, s.name, shards, nil)
			stopA()
			_ = stopB() // dead: it fails
			stopC()
			s.check(open.plain())
			a, b, c := jobA.Stats(), jobB.Stats(), jobC.Stats()
			t.Logf("A committed %d rows, B %d, C %d (of %d records)", a.RowsOut, b.RowsOut, c.RowsOut, s.n)
		})
	}
}

// waitReadOrCommitted waits until job has read every record put, or the
// jobs together have committed every record that is not blank: a job reset
// to another's committed positions does not read again what that one
// committed, so it may never read them all.
func (s *fakeStream) waitReadOrCommitted(job *stream.Job, all ...*stream.Job) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if job.Stats().RecordsIn >= int64(s.n) {
			return
		}
		var committed int64
		for _, j := range all {
			st := j.Stats()
			committed += st.RowsOut + st.Rejected
		}
		if committed >= int64(len(s.valid)) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("after 30s: read %d of %d records; %d of %d committed", job.Stats().RecordsIn, s.n, committed, len(s.valid))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
