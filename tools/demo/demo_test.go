package main

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	_ "github.com/go-sql-driver/mysql"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}

// logWriter writes the flow's step lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestFlowBatchAndStreamAgree runs the demo's flow end to end with small
// counts on the real stack, and checks that the batch path (Kafka, s3sink,
// batchjob) and the stream path (Kinesis, streamjob), fed the same emitted
// rows, agree: the stream's clean rows, de-duplicated by the batch rule (one row
// per ind), equal the batch clean tables.
func TestFlowBatchAndStreamAgree(t *testing.T) {
	env := devstack.Require(t, devstack.Kafka|devstack.S3|devstack.Kinesis|devstack.MySQL)
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bucket := env.NewBucket(t)
	suffix := fmt.Sprintf("%x", time.Now().UnixNano())
	prefix := "e2e" + suffix
	tables := sample.Tables{Pin: "e2e_pin_" + suffix, Geo: "e2e_geo_" + suffix, User: "e2e_user_" + suffix}
	t.Cleanup(func() { dropSources(t, env, prefix, tables) })

	f := &flow{
		Env: env, Root: root, Bin: t.TempDir(), Logs: t.TempDir(), Bucket: bucket,
		Prefix: prefix, Tables: tables, Rows: 300, Posts: 500, Seed: 7, FlushSize: 50,
		Wait: 90 * time.Second, Out: logWriter{t},
	}
	if err := f.validate(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := f.run(ctx, f.steps(true)); err != nil {
		var se *StepError
		if errors.As(err, &se) && se.Log != "" {
			var b strings.Builder
			tail(&b, se.Log, 30)
			t.Log(b.String())
		}
		t.Fatal(err)
	}

	// Every emitted record reached both paths, and the batch counts add up.
	var batchRejected, streamRejected int64
	for _, tb := range clean.Tables {
		q := f.batchRes.Quality.Table(tb)
		if got, want := q.RowsRead+q.BlankLines, f.emitted["kafka"][tb]; got != want || want != int64(f.Posts) {
			t.Errorf("batch %s: %d rows read, %d posts emitted to Kafka, want both %d", tb, got, want, f.Posts)
		}
		var rej int64
		for _, n := range q.Rejected {
			rej += n
		}
		if q.RowsRead != rej+q.Duplicates+q.RowsWritten {
			t.Errorf("batch %s: rows read %d != rejected %d + duplicates %d + written %d", tb, q.RowsRead, rej, q.Duplicates, q.RowsWritten)
		}
		s := f.stream[tb]
		if s.In != f.emitted["kinesis"][tb] || s.In != int64(f.Posts) {
			t.Errorf("stream %s: %d records in, %d emitted to Kinesis, want both %d", tb, s.In, f.emitted["kinesis"][tb], f.Posts)
		}
		if s.Out+s.Rejected+s.Blank != s.In {
			t.Errorf("stream %s: out %d + rejected %d + blank %d != in %d", tb, s.Out, s.Rejected, s.Blank, s.In)
		}
		batchRejected += rej
		streamRejected += s.Rejected
	}
	if batchRejected != streamRejected {
		t.Errorf("batch rejected %d records, stream %d", batchRejected, streamRejected)
	}
	if t.Failed() {
		return
	}

	b, err := objstore.Open(ctx, "s3://"+bucket, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dt := batch.PartitionPrefix(f.Date)
	streamDir := func(tb clean.Table) string { return "stream/" + prefix + "/" + string(tb) + "/" }
	batchDir := func(tb clean.Table) string { return "batch/" + dt + batch.CleanDir(tb) }

	t.Run("pin", func(t *testing.T) {
		read := func(r *bytes.Reader) ([]clean.Pin, error) { rows, _, err := parquetio.ReadPins(r); return rows, err }
		agree(t, b, batchDir(clean.TablePin), streamDir(clean.TablePin), read, func(p clean.Pin) int64 { return p.Ind })
	})
	t.Run("geo", func(t *testing.T) {
		read := func(r *bytes.Reader) ([]clean.Geo, error) { rows, _, err := parquetio.ReadGeos(r); return rows, err }
		agree(t, b, batchDir(clean.TableGeo), streamDir(clean.TableGeo), read, func(g clean.Geo) int64 { return g.Ind })
	})
	t.Run("user", func(t *testing.T) {
		read := func(r *bytes.Reader) ([]clean.User, error) { rows, _, err := parquetio.ReadUsers(r); return rows, err }
		agree(t, b, batchDir(clean.TableUser), streamDir(clean.TableUser), read, func(u clean.User) int64 { return u.Ind })
	})
}

// agree checks that the stream rows under streamDir, de-duplicated by ind,
// equal the batch rows under batchDir. Every stream copy of an ind must be the
// same row (they come from the same source row), so which copy the batch rule
// keeps does not matter.
func agree[T comparable](t *testing.T, b objstore.Reader, batchDir, streamDir string, read func(*bytes.Reader) ([]T, error), ind func(T) int64) {
	t.Helper()
	batchRows := readRows(t, b, batchDir, read)
	streamRows := readRows(t, b, streamDir, read)
	if len(batchRows) == 0 || len(streamRows) == 0 {
		t.Fatalf("%d batch rows under %s, %d stream rows under %s: want both non-empty", len(batchRows), batchDir, len(streamRows), streamDir)
	}
	byInd := map[int64]T{}
	for _, r := range streamRows {
		if prev, ok := byInd[ind(r)]; ok && prev != r {
			t.Errorf("stream rows of ind %d differ:\n%+v\n%+v", ind(r), prev, r)
		}
		byInd[ind(r)] = r
	}
	dedup := make([]T, 0, len(byInd))
	for _, r := range byInd {
		dedup = append(dedup, r)
	}
	sortRows := func(rows []T) { slices.SortFunc(rows, func(a, b T) int { return cmp.Compare(ind(a), ind(b)) }) }
	sortRows(dedup)
	sortRows(batchRows)
	if slices.Equal(dedup, batchRows) {
		t.Logf("%d batch rows = %d stream rows de-duplicated to %d", len(batchRows), len(streamRows), len(dedup))
		return
	}
	t.Errorf("stream rows de-duplicated by ind (%d) differ from the batch clean table (%d)", len(dedup), len(batchRows))
	for i := range max(len(dedup), len(batchRows)) {
		switch {
		case i >= len(dedup):
			t.Fatalf("batch has extra row %+v", batchRows[i])
		case i >= len(batchRows):
			t.Fatalf("stream has extra row %+v", dedup[i])
		case dedup[i] != batchRows[i]:
			t.Fatalf("first difference:\nbatch  %+v\nstream %+v", batchRows[i], dedup[i])
		}
	}
}

// readRows reads every Parquet file under prefix.
func readRows[T any](t *testing.T, b objstore.Reader, prefix string, read func(*bytes.Reader) ([]T, error)) []T {
	t.Helper()
	objs, err := b.List(t.Context(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var rows []T
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, ".parquet") {
			continue
		}
		data, err := getAll(t.Context(), b, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		r, err := read(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("reading %s: %v", o.Key, err)
		}
		rows = append(rows, r...)
	}
	return rows
}

// dropSources drops the test's MySQL tables and Kinesis streams.
func dropSources(t *testing.T, env devstack.Env, prefix string, tables sample.Tables) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if db, err := sql.Open("mysql", env.MySQLDSN); err == nil {
		if err := sample.DropTables(ctx, db, tables); err != nil {
			t.Logf("dropping the test tables: %v", err)
		}
		db.Close()
	}
	kc := env.KinesisClient()
	for _, tb := range clean.Tables {
		name := landing.Stream(prefix, tb)
		if _, err := kc.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(name)}); err != nil {
			t.Logf("deleting stream %s: %v", name, err)
		}
	}
}
