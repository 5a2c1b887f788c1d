package batch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
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
	files      []string
	pins       []clean.Pin
	geos       []clean.Geo
	users      []clean.User
	insights   map[string][][]string // rows as ValueStr, header first
	quarantine map[clean.Table][]parquetio.Rejected
	quality    batch.QualityReport
	raw        map[string][]byte // every file by key relative to dt=D/
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

// readOutput decodes everything published under out for date; it fails the
// test when _SUCCESS is missing.
func readOutput(t testing.TB, out objstore.Bucket, date string) output {
	t.Helper()
	ctx := t.Context()
	dir := batch.PartitionPrefix(date)
	objs, err := out.List(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	o := output{insights: map[string][][]string{}, quarantine: map[clean.Table][]parquetio.Rejected{}, raw: map[string][]byte{}}
	for _, ob := range objs {
		o.files = append(o.files, strings.TrimPrefix(ob.Key, dir))
	}
	if !slices.Contains(o.files, batch.SuccessKey) {
		t.Fatalf("%s has no %s: %v", out.URL(dir), batch.SuccessKey, o.files)
	}
	for _, f := range o.files {
		data := get(t, out, dir+f)
		o.raw[f] = data
		r := bytes.NewReader(data)
		switch {
		case f == batch.SuccessKey:
		case f == batch.QualityKey:
			if err := json.Unmarshal(data, &o.quality); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		case strings.HasPrefix(f, batch.CleanDir(clean.TablePin)):
			rows, _, err := parquetio.ReadPins(r)
			check(t, f, err)
			o.pins = append(o.pins, rows...)
		case strings.HasPrefix(f, batch.CleanDir(clean.TableGeo)):
			rows, _, err := parquetio.ReadGeos(r)
			check(t, f, err)
			o.geos = append(o.geos, rows...)
		case strings.HasPrefix(f, batch.CleanDir(clean.TableUser)):
			rows, _, err := parquetio.ReadUsers(r)
			check(t, f, err)
			o.users = append(o.users, rows...)
		case strings.HasPrefix(f, "quarantine/"):
			rows, err := parquetio.ReadRejected(r)
			check(t, f, err)
			tb := clean.Table(strings.Split(f, "/")[1])
			o.quarantine[tb] = append(o.quarantine[tb], rows...)
		case strings.HasPrefix(f, "insights/"):
			name := strings.Split(f, "/")[1]
			o.insights[name] = append(o.insights[name], tableRows(t, f, data, len(o.insights[name]) == 0)...)
		default:
			t.Errorf("unexpected published file %s", f)
		}
	}
	return o
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
	var ks []string
	for tb, rows := range o.quarantine {
		for _, r := range rows {
			ks = append(ks, string(tb)+"|"+r.Reason+"|"+r.Detail+"|"+r.Raw)
		}
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
