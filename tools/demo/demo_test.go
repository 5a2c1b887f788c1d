package main

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	_ "github.com/go-sql-driver/mysql"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/tabletest"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/sample"
	"github.com/pinpipe/pinpipe/pkg/stream"
	"github.com/pinpipe/pinpipe/pkg/tables"
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
	sources := sample.Tables{Pin: "e2e_pin_" + suffix, Geo: "e2e_geo_" + suffix, User: "e2e_user_" + suffix}
	t.Cleanup(func() { dropSources(t, env, prefix, sources) })

	catalog := "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "catalog.db"))
	f := &flow{
		Env: env, Root: root, Bin: t.TempDir(), Logs: t.TempDir(), Bucket: bucket, Catalog: catalog,
		Prefix: prefix, Tables: sources, Rows: 300, Posts: 500, Seed: 7, FlushSize: 50,
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

	o, err := f.readOutputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var shown bytes.Buffer
	f.show(&shown, o, 0, "")
	t.Run("listing", func(t *testing.T) { checkListing(t, f, o, shown.String()) })
	t.Run("scan", func(t *testing.T) { checkScan(t, o, shown.String()) })
	t.Run("quality", func(t *testing.T) { checkQuality(t, f, o) })
	t.Run("report", func(t *testing.T) {
		// The report is the batch run's, and the demo prints a file:// URL of it.
		if !bytes.Contains(o.Report, []byte(f.batchRes.RunID)) || f.batchRes.Report != o.ReportURL {
			t.Errorf("report %s (batchjob said %s) is not of run %s", o.ReportURL, f.batchRes.Report, f.batchRes.RunID)
		}
		i := strings.Index(shown.String(), "file://")
		if i < 0 {
			t.Fatal("the demo prints no file:// URL of the report")
		}
		u, err := url.Parse(strings.Fields(shown.String()[i:])[0])
		if err != nil {
			t.Fatal(err)
		}
		if data, err := os.ReadFile(u.Path); err != nil || !bytes.Equal(data, o.Report) {
			t.Errorf("the printed report %s: %v (or another content)", u, err)
		}
	})
	if t.Failed() {
		t.Logf("the demo's output:\n%s", shown.String())
	}

	cat, err := tables.Open(ctx, tables.Config{Catalog: f.Catalog, Warehouse: f.Warehouse, Namespace: f.namespace()})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	t.Run("pin", func(t *testing.T) {
		read := func(r *bytes.Reader) ([]clean.Pin, error) { rows, _, err := parquetio.ReadPins(r); return rows, err }
		agree(t, cat, clean.TablePin, read, func(p clean.Pin) int64 { return p.Ind })
	})
	t.Run("geo", func(t *testing.T) {
		read := func(r *bytes.Reader) ([]clean.Geo, error) { rows, _, err := parquetio.ReadGeos(r); return rows, err }
		agree(t, cat, clean.TableGeo, read, func(g clean.Geo) int64 { return g.Ind })
	})
	t.Run("user", func(t *testing.T) {
		read := func(r *bytes.Reader) ([]clean.User, error) { rows, _, err := parquetio.ReadUsers(r); return rows, err }
		agree(t, cat, clean.TableUser, read, func(u clean.User) int64 { return u.Ind })
	})
}

// checkListing checks that the printed listing names every table of both
// jobs with its snapshots, and that what the catalog says of each table
// agrees with the runs: the batch tables' current snapshots are the run's,
// and every table's row count is what its job wrote.
func checkListing(t *testing.T, f *flow, o *outputs, shown string) {
	_, listing, ok := strings.Cut(shown, "The tables of namespace "+f.namespace())
	if !ok {
		t.Fatalf("no listing of the tables in the output")
	}
	listing, _, _ = strings.Cut(listing, "  (rows:")
	printed := map[string][]string{}
	for _, line := range strings.Split(listing, "\n") {
		if fs := strings.Fields(line); len(fs) == 7 {
			printed[fs[0]] = fs
		}
	}
	defs := append(batch.Defs(), streamDefs()...)
	if len(defs) != 17 || len(o.Tables) != len(defs) {
		t.Errorf("%d tables defined, %d read back, want 17", len(defs), len(o.Tables))
	}
	for _, def := range defs {
		fs, ok := printed[def.Name]
		if !ok {
			t.Errorf("table %s is not in the printed listing", def.Name)
			continue
		}
		if n, err := strconv.Atoi(fs[2]); err != nil || n < 1 {
			t.Errorf("table %s: %s snapshots printed, want at least 1", def.Name, fs[2])
		}
		if _, err := strconv.ParseInt(fs[3], 10, 64); err != nil {
			t.Errorf("table %s: current snapshot %q printed, want an id", def.Name, fs[3])
		}
	}

	var batchRejected int64
	for _, tb := range clean.Tables {
		rej, _ := totals(*f.batchRes.Quality.Table(tb))
		batchRejected += rej
	}
	var streamRejected int64
	for _, tb := range clean.Tables {
		streamRejected += f.stream[tb].Rejected
	}
	want := map[string]int64{tables.BatchQuarantine: batchRejected, tables.StreamQuarantine: streamRejected}
	for _, tb := range clean.Tables {
		want[string(tb)] = f.batchRes.Quality.Table(tb).RowsWritten
		want[tables.StreamDef(tb, false).Name] = f.stream[tb].Out
	}
	for i, ti := range o.Tables {
		if i < len(defs) && ti.Name != defs[i].Name {
			t.Errorf("table %d is %s, want %s", i, ti.Name, defs[i].Name)
		}
		if ti.Snapshots < 1 || ti.Current == 0 {
			t.Errorf("table %s: %d snapshots, current %d: want a current snapshot", ti.Name, ti.Snapshots, ti.Current)
		}
		if ti.Job == "batch" {
			if ti.RunID != f.batchRes.RunID || ti.Current != f.batchRes.Snapshots[ti.Name] {
				t.Errorf("table %s: current snapshot %d of run %q, want %d of run %q (batchjob's summary)",
					ti.Name, ti.Current, ti.RunID, f.batchRes.Snapshots[ti.Name], f.batchRes.RunID)
			}
		}
		if n, ok := want[ti.Name]; ok && ti.Records != n {
			t.Errorf("table %s: %d rows in the current snapshot, its job wrote %d", ti.Name, ti.Records, n)
		}
		if len(ti.Files) == 0 && ti.Records > 0 {
			t.Errorf("table %s: %d rows in no data file", ti.Name, ti.Records)
		}
	}
	for i, ins := range o.Insights {
		ti := o.Tables[len(clean.Tables)+i]
		if ins.Name != ti.Name || int64(len(ins.Rows.rows)) != ti.Records || len(ins.Rows.rows) == 0 {
			t.Errorf("insight table %s: %d rows read from the files of dt=%s, %s has %d rows, want the same, not 0",
				ins.Name, len(ins.Rows.rows), f.Date, ti.Name, ti.Records)
		}
	}
	if len(o.Stray) > 0 {
		t.Errorf("%d data files listed by no snapshot, e.g. %s", len(o.Stray), o.Stray[0])
	}
}

// checkScan checks that iceberg-go's scan of the scanned insight table
// through the catalog returns the rows read from its data files.
func checkScan(t *testing.T, o *outputs, shown string) {
	var files textTable
	for _, ins := range o.Insights {
		if ins.Name == scannedTable {
			files = ins.Rows
		}
	}
	if len(o.Scanned.rows) == 0 || !sameRows(o.Scanned, files) {
		t.Errorf("scan of %s: %d rows with columns %v; from its data files: %d rows with columns %v; want the same, not 0",
			scannedTable, len(o.Scanned.rows), o.Scanned.header, len(files.rows), files.header)
	}
	if !strings.Contains(shown, "the same rows as read from its data files above") {
		t.Errorf("the output does not say the scanned rows are the ones of the data files")
	}
}

// checkQuality checks the quality counts read back: quality.json beside the
// tables is the batch run's report, and the stream tables' properties hold
// what the stream job counted.
func checkQuality(t *testing.T, f *flow, o *outputs) {
	if !reflect.DeepEqual(o.BatchQuality.Quality, f.batchRes.Quality) {
		t.Errorf("%s holds\n%+v\nbatchjob reported\n%+v", o.QualityURL, o.BatchQuality.Quality, f.batchRes.Quality)
	}
	for _, tb := range clean.Tables {
		q, s := o.StreamQuality[tb], f.stream[tb]
		rej, _ := totals(q)
		if q.RowsRead+q.BlankLines != s.In || q.RowsWritten != s.Out || rej != s.Rejected || q.BlankLines != s.Blank {
			t.Errorf("stream %s: property %s has %d read, %d blank, %d written, %d rejected; metrics %+v",
				tb, stream.QualityKey, q.RowsRead, q.BlankLines, q.RowsWritten, rej, s)
		}
	}
}

// agree checks that the rows of the stream table of tb, de-duplicated by
// ind, equal the batch clean table tb; both are read from the data files
// their current snapshots list. Every stream copy of an ind must be the same
// row (they come from the same source row), so which copy the batch rule
// keeps does not matter.
func agree[T comparable](t *testing.T, cat *tables.Catalog, tb clean.Table, read func(*bytes.Reader) ([]T, error), ind func(T) int64) {
	t.Helper()
	batchRows := readRows(t, cat, tables.CleanDef(tb), read)
	streamRows := readRows(t, cat, tables.StreamDef(tb, false), read)
	if len(batchRows) == 0 || len(streamRows) == 0 {
		t.Fatalf("%d batch rows, %d stream rows: want both non-empty", len(batchRows), len(streamRows))
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

// readRows reads the live rows of table def: its live data files without
// the rows its position delete files delete.
func readRows[T any](t *testing.T, cat *tables.Catalog, def tables.Def, read func(*bytes.Reader) ([]T, error)) []T {
	t.Helper()
	var rows []T
	deleted := tabletest.Deleted(t, cat, def)
	for loc, data := range tabletest.Files(t, cat, def) {
		r, err := read(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("reading %s: %v", loc, err)
		}
		rows = append(rows, tables.DropDeleted(r, deleted[loc])...)
	}
	return rows
}

// dropSources drops the test's MySQL tables and Kinesis streams.
func dropSources(t *testing.T, env devstack.Env, prefix string, sources sample.Tables) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if db, err := sql.Open("mysql", env.MySQLDSN); err == nil {
		if err := sample.DropTables(ctx, db, sources); err != nil {
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
