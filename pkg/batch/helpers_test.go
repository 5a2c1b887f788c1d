package batch_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/iceberg-go/table"

	"github.com/pinpipe/pinpipe/internal/tabletest"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

const testPrefix = "124a514b9149"

// topics holds the raw lines of the three topics, pin, geo, user.
type topics [3][][]byte

func lines(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func openStore(t testing.TB, url string, opts objstore.Options) objstore.Bucket {
	t.Helper()
	b, err := objstore.Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	return b
}

// land lays out the topics under b.
func land(t testing.TB, b objstore.Bucket, in topics, layout batchtest.Layout) {
	t.Helper()
	for i, tb := range clean.Tables {
		if err := batchtest.Write(t.Context(), b, landing.Topic(testPrefix, tb), in[i], layout); err != nil {
			t.Fatal(err)
		}
	}
}

// output is a decoded published run.
type output struct {
	files      []string // table/part-NNNNN.parquet, without the run id
	pins       []clean.Pin
	geos       []clean.Geo
	users      []clean.User
	insights   map[string][][]string // rows as ValueStr, header first, without dt
	quarantine map[clean.Table][]parquetio.Rejected
	quality    batch.QualityReport
	raw        map[string][]byte // every data file by its name in files
	runs       map[string]string // the run id of each table's current snapshot
	// origins of the clean tables' rows, in the rows' order (by ind).
	origins map[clean.Table][]parquetio.Origin
}

// fileName is the name of a data file without the run id that starts it:
// part-NNNNN.parquet, bNN-part-NNNNN.parquet (a clean table's bucket) or
// {table}-part-NNNNN.parquet (a quarantine file).
func fileName(name string) string {
	i := strings.LastIndex(name, "part-")
	head := name[:i]
	for _, suffix := range []string{"-pin-", "-geo-", "-user-"} {
		if strings.HasSuffix(head, suffix) {
			return suffix[1:] + name[i:]
		}
	}
	if len(head) >= 5 && head[len(head)-5:len(head)-3] == "-b" {
		return head[len(head)-4:] + name[i:]
	}
	return name[i:]
}

// byInd sorts rows (and their origins) by ind.
func byInd[R any](rows []R, org []parquetio.Origin, ind func(R) int64) {
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(min(max(ind(rows[a])-ind(rows[b]), -1), 1)) })
	r2, o2 := make([]R, len(rows)), make([]parquetio.Origin, len(org))
	for i, j := range idx {
		r2[i] = rows[j]
		if len(org) > 0 {
			o2[i] = org[j]
		}
	}
	copy(rows, r2)
	copy(org, o2)
}

func get(t testing.TB, b objstore.Bucket, key string) []byte {
	t.Helper()
	rc, err := b.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return data
}

// catalogs maps a warehouse URL on S3 to the SQLite catalog a test keeps
// for it.
var catalogs sync.Map

// tablesAt is the tables configuration of a warehouse: a local directory
// holds its SQLite catalog; an S3 warehouse gets one in a directory kept
// for the test process.
func tablesAt(t testing.TB, warehouse string) tables.Config {
	t.Helper()
	if !strings.HasPrefix(warehouse, "s3://") {
		return tables.Config{Warehouse: warehouse}
	}
	dir, _ := catalogs.LoadOrStore(warehouse, t.TempDir())
	return tables.Config{Catalog: "sqlite://" + filepath.Join(dir.(string), "catalog.db"), Warehouse: warehouse}
}

// landedAt lands in, as layout says, in a new directory's input, and
// returns the input and the tables configuration of an empty warehouse
// beside it.
func landedAt(t testing.TB, in topics, layout batchtest.Layout) (objstore.Bucket, tables.Config) {
	t.Helper()
	dir := t.TempDir()
	src := openStore(t, filepath.Join(dir, "topics"), objstore.Options{})
	land(t, src, in, layout)
	return src, tablesAt(t, filepath.Join(dir, "out"))
}

// currentSnapshot returns the current snapshot of table def in the catalog
// of cfg (nil when it has none).
func currentSnapshot(t testing.TB, cfg tables.Config, def tables.Def) *table.Snapshot {
	t.Helper()
	cat := tabletest.Open(t, cfg)
	defer cat.Close()
	tbl, err := cat.Ensure(t.Context(), def)
	check(t, def.Name, err)
	return tbl.Iceberg().CurrentSnapshot()
}

// liveState reads the rows of a state file, name, and their origins with
// read, without the rows deleted (del, as tables.Table.Deleted gives them).
func liveState[R any](t testing.TB, name string, read func(parquet.ReaderAtSeeker) ([]R, []parquetio.Origin, error), r parquet.ReaderAtSeeker, del []int64) ([]R, []parquetio.Origin) {
	t.Helper()
	rows, org, err := read(r)
	check(t, name, err)
	return tables.DropDeleted(rows, del), tables.DropDeleted(org, del)
}

// readOutput reads what is published for date in the tables of cfg: the
// clean tables, the date's partition of the insight tables and of the
// quarantine (their live files, from the current snapshots' manifests), and
// quality.json.
func readOutput(t testing.TB, cfg tables.Config, date string) output {
	t.Helper()
	ctx := t.Context()
	cat := tabletest.Open(t, cfg)
	defer cat.Close()
	o := output{insights: map[string][][]string{}, quarantine: map[clean.Table][]parquetio.Rejected{}, raw: map[string][]byte{},
		runs: map[string]string{}, origins: map[clean.Table][]parquetio.Origin{}}
	for _, def := range batch.Defs() {
		tbl, err := cat.Ensure(ctx, def)
		check(t, def.Name, err)
		if snap := tbl.Iceberg().CurrentSnapshot(); snap != nil {
			o.runs[def.Name] = snap.Summary.Properties[batch.SummaryRunID]
		}
		files, err := tbl.LiveFiles(ctx)
		check(t, def.Name, err)
		deleted, err := tbl.Deleted(ctx)
		check(t, def.Name, err)
		for _, df := range files {
			loc := df.FilePath()
			del := deleted[loc]
			if def.ByDay && !strings.Contains(loc, "/dt="+date+"/") {
				continue
			}
			data, err := cat.ReadFile(ctx, loc)
			check(t, loc, err)
			name := path.Base(loc)
			name = def.Name + "/" + fileName(name)
			o.files = append(o.files, name)
			o.raw[name] = data
			r := bytes.NewReader(data)
			switch {
			case def.Name == string(clean.TablePin):
				rows, org := liveState(t, name, parquetio.ReadPinState, r, del)
				o.pins = append(o.pins, rows...)
				o.origins[clean.TablePin] = append(o.origins[clean.TablePin], org...)
			case def.Name == string(clean.TableGeo):
				rows, org := liveState(t, name, parquetio.ReadGeoState, r, del)
				o.geos = append(o.geos, rows...)
				o.origins[clean.TableGeo] = append(o.origins[clean.TableGeo], org...)
			case def.Name == string(clean.TableUser):
				rows, org := liveState(t, name, parquetio.ReadUserState, r, del)
				o.users = append(o.users, rows...)
				o.origins[clean.TableUser] = append(o.origins[clean.TableUser], org...)
			case def.Name == tables.BatchQuarantine:
				rows, err := parquetio.ReadRejected(r)
				check(t, name, err)
				for _, row := range rows {
					o.quarantine[clean.Table(row.Table)] = append(o.quarantine[clean.Table(row.Table)], row)
				}
			default:
				rows := tableRows(t, name, data, len(o.insights[def.Name]) == 0)
				o.insights[def.Name] = append(o.insights[def.Name], dropDT(rows, date)...)
			}
		}
	}
	slices.Sort(o.files)
	// A clean table is a set of rows; its files are buckets of inds.
	byInd(o.pins, o.origins[clean.TablePin], func(p clean.Pin) int64 { return p.Ind })
	byInd(o.geos, o.origins[clean.TableGeo], func(g clean.Geo) int64 { return g.Ind })
	byInd(o.users, o.origins[clean.TableUser], func(u clean.User) int64 { return u.Ind })
	for _, rows := range o.quarantine {
		slices.SortStableFunc(rows, func(a, b parquetio.Rejected) int {
			return cmp.Or(strings.Compare(a.Source, b.Source), int(min(max(a.Line-b.Line, -1), 1)))
		})
	}
	if b := cat.Warehouse(); b != nil {
		data := get(t, b, batch.QualityFile(cat.Namespace(), date))
		if err := json.Unmarshal(data, &o.quality); err != nil {
			t.Fatalf("quality.json: %v", err)
		}
	}
	return o
}

// dropDT drops the partition column dt of an insight table's rows, checking
// its value.
func dropDT(rows [][]string, date string) [][]string {
	for i, r := range rows {
		last := r[len(r)-1]
		if last != parquetio.ColDT && last != date {
			panic("an insight row's dt is " + last + ", want " + date)
		}
		rows[i] = r[:len(r)-1]
	}
	return rows
}

func check(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// tableRows decodes a Parquet file into rows of strings, with the column
// names first when header is set.
func tableRows(t testing.TB, name string, data []byte, header bool) [][]string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tbl, err := parquetio.ReadTable(bytes.NewReader(data), mem)
	check(t, name, err)
	defer tbl.Release()
	var rows [][]string
	if header {
		var h []string
		for _, f := range tbl.Schema().Fields() {
			h = append(h, f.Name)
		}
		rows = append(rows, h)
	}
	tr := array.NewTableReader(tbl, 1<<20)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := make([]string, rec.NumCols())
			for c := range row {
				row[c] = rec.Column(c).ValueStr(i)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// insightRows renders typed insight tables as tableRows does.
func insightRows(t testing.TB, tables insights.Tables) map[string][][]string {
	t.Helper()
	recs, err := tables.Records(memory.DefaultAllocator)
	check(t, "records", err)
	out := map[string][][]string{}
	for _, r := range recs {
		var buf bytes.Buffer
		check(t, r.Name, parquetio.WriteRecord(&buf, r.Record, parquetio.Options{}))
		r.Record.Release()
		out[r.Name] = tableRows(t, r.Name, buf.Bytes(), true)
	}
	return out
}

func runJob(t testing.TB, ctx context.Context, cfg batch.Config) batch.Result {
	t.Helper()
	res, err := batch.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

// quarantineKey is what identifies a rejected line whatever the layout.
func quarantineKeys(o output) []string {
	var rows []parquetio.Rejected
	for _, rs := range o.quarantine {
		rows = append(rows, rs...)
	}
	return rejectedKeys(rows)
}

// rejectedKeys are rejected lines as sorted strings of table, reason,
// detail and raw text.
func rejectedKeys(rows []parquetio.Rejected) []string {
	ks := make([]string, 0, len(rows))
	for _, r := range rows {
		ks = append(ks, r.Table+"|"+r.Reason+"|"+r.Detail+"|"+r.Raw)
	}
	slices.Sort(ks)
	return ks
}

// unchanged checks that a published run is still the one read before: every
// file byte-identical, quality.json's run section included.
func unchanged(t *testing.T, before, after output) {
	t.Helper()
	sameBytes(t, before, after)
	if before.quality.Run != after.quality.Run {
		t.Errorf("quality.json changed: %+v -> %+v", before.quality.Run, after.quality.Run)
	}
}
