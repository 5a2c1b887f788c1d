package parquetio

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
)

func str(v string) clean.Str { return clean.Str{V: v, Valid: true} }

// checkedOptions returns options whose allocator fails the test when bytes
// are left allocated at its end.
func checkedOptions(t *testing.T, o Options) (Options, memory.Allocator) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	o.Allocator = mem
	return o, mem
}

func testPins() []clean.Pin {
	return []clean.Pin{
		{Ind: 0, UniqueID: "00000000-0000-0000-0000-000000000000"}, // every nullable column null
		{
			Ind: 7528, UniqueID: "fbe53c66-3442-4773-b19e-d3ec6f54dddf", Title: str("Ünïcödé 🎨 title"),
			Description: str("line\nbreak \"quoted\""), FollowerCount: clean.Int64{V: 124000, Valid: true},
			PosterName: str("名前"), TagList: str("a,b,c"), IsImageOrVideo: str("image"),
			ImageSrc: str("https://i.pinimg.com/x.jpg"), SaveLocation: str("/data/art"), Category: str("art"),
		},
		{Ind: 1<<31 - 1, UniqueID: "u", FollowerCount: clean.Int64{V: 0, Valid: true}, Category: str("")},
		{Ind: 3, UniqueID: "ﾠ", Title: str("t"), Description: str("d"), PosterName: str("p")},
	}
}

func testGeos() []clean.Geo {
	return []clean.Geo{
		{Ind: 0},
		{Ind: 1, Country: str("Côte d'Ivoire"), Coordinates: clean.Coords{Lat: -90, Lon: 180, Valid: true},
			Timestamp: clean.Time{Micros: 1_600_000_000_123_456, Valid: true}},
		{Ind: 2, Coordinates: clean.Coords{Lat: 12.5, Lon: -0.000001, Valid: true}},
		{Ind: 3, Country: str("Togo"), Timestamp: clean.Time{Micros: -1, Valid: true}},
	}
}

func testUsers() []clean.User {
	return []clean.User{
		{Ind: 0},
		{Ind: 1, UserName: str("Zoë Ñúñez"), Age: clean.Int32{V: 0, Valid: true},
			DateJoined: clean.Time{Micros: 1_450_000_000_000_001, Valid: true}},
		{Ind: 2, Age: clean.Int32{V: 130, Valid: true}},
		{Ind: 3, UserName: str("Al"), DateJoined: clean.Time{Micros: 0, Valid: true}},
	}
}

func testSources(n int) []Source {
	src := make([]Source, n)
	for i := range src {
		src[i] = Source{
			Shard:         fmt.Sprintf("shardId-%012d", i%2),
			Sequence:      fmt.Sprintf("4963%040d", i),
			ArrivalMicros: 1_700_000_000_000_000 + int64(i),
		}
	}
	return src
}

// roundTripCase is one round trip of a table.
type roundTripCase struct {
	name string
	rows int // number of rows; 0 gives an empty (non-nil) slice
	src  bool
	opts Options
}

func roundTripCases(n int) []roundTripCase {
	return []roundTripCase{
		{name: "rows", rows: n},
		{name: "rows with sources", rows: n, src: true},
		{name: "one row per row group, zstd", rows: n, src: true, opts: Options{RowGroupRows: 1, Compression: compress.Codecs.Zstd}},
		{name: "empty", rows: 0},
		{name: "empty with sources", rows: 0, src: true},
	}
}

func sourcesFor(tc roundTripCase) []Source {
	if !tc.src {
		return nil
	}
	return testSources(tc.rows)
}

func checkSourcesRead(t *testing.T, tc roundTripCase, got []Source) {
	t.Helper()
	want := sourcesFor(tc)
	if (want == nil) != (got == nil) || !reflect.DeepEqual(append([]Source{}, got...), append([]Source{}, want...)) {
		t.Errorf("sources = %#v, want %#v", got, want)
	}
}

func TestRoundTripPins(t *testing.T) {
	all := testPins()
	for _, tc := range roundTripCases(len(all)) {
		t.Run(tc.name, func(t *testing.T) {
			opts, mem := checkedOptions(t, tc.opts)
			rows := all[:tc.rows]
			var buf bytes.Buffer
			if err := WritePins(&buf, rows, sourcesFor(tc), opts); err != nil {
				t.Fatalf("WritePins: %v", err)
			}
			got, src, _, err := readPins(bytes.NewReader(buf.Bytes()), mem, nil)
			if err != nil {
				t.Fatalf("readPins: %v", err)
			}
			if len(got) != len(rows) || (len(rows) > 0 && !reflect.DeepEqual(got, rows)) {
				t.Errorf("rows = %#v\nwant %#v", got, rows)
			}
			checkSourcesRead(t, tc, src)
			checkRowGroups(t, buf.Bytes(), tc)
		})
	}
}

func TestRoundTripGeos(t *testing.T) {
	all := testGeos()
	for _, tc := range roundTripCases(len(all)) {
		t.Run(tc.name, func(t *testing.T) {
			opts, mem := checkedOptions(t, tc.opts)
			rows := all[:tc.rows]
			var buf bytes.Buffer
			if err := WriteGeos(&buf, rows, sourcesFor(tc), opts); err != nil {
				t.Fatalf("WriteGeos: %v", err)
			}
			got, src, _, err := readGeos(bytes.NewReader(buf.Bytes()), mem, nil)
			if err != nil {
				t.Fatalf("readGeos: %v", err)
			}
			if len(got) != len(rows) || (len(rows) > 0 && !reflect.DeepEqual(got, rows)) {
				t.Errorf("rows = %#v\nwant %#v", got, rows)
			}
			checkSourcesRead(t, tc, src)
			checkRowGroups(t, buf.Bytes(), tc)
		})
	}
}

func TestRoundTripUsers(t *testing.T) {
	all := testUsers()
	for _, tc := range roundTripCases(len(all)) {
		t.Run(tc.name, func(t *testing.T) {
			opts, mem := checkedOptions(t, tc.opts)
			rows := all[:tc.rows]
			var buf bytes.Buffer
			if err := WriteUsers(&buf, rows, sourcesFor(tc), opts); err != nil {
				t.Fatalf("WriteUsers: %v", err)
			}
			got, src, _, err := readUsers(bytes.NewReader(buf.Bytes()), mem, nil)
			if err != nil {
				t.Fatalf("readUsers: %v", err)
			}
			if len(got) != len(rows) || (len(rows) > 0 && !reflect.DeepEqual(got, rows)) {
				t.Errorf("rows = %#v\nwant %#v", got, rows)
			}
			checkSourcesRead(t, tc, src)
			checkRowGroups(t, buf.Bytes(), tc)
		})
	}
}

// checkRowGroups checks the row group count and the codec of a written file.
func checkRowGroups(t *testing.T, data []byte, tc roundTripCase) {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("NewParquetReader: %v", err)
	}
	per := tc.opts.RowGroupRows
	if per == 0 {
		per = DefaultRowGroupRows
	}
	if want := (tc.rows + per - 1) / per; pf.NumRowGroups() != want {
		t.Errorf("%d row groups, want %d", pf.NumRowGroups(), want)
	}
	wantCodec := tc.opts.Compression
	if wantCodec == compress.Codecs.Uncompressed {
		wantCodec = compress.Codecs.Snappy
	}
	for i := range pf.NumRowGroups() {
		cc, err := pf.MetaData().RowGroup(i).ColumnChunk(0)
		if err != nil {
			t.Fatalf("ColumnChunk: %v", err)
		}
		if cc.Compression() != wantCodec {
			t.Errorf("row group %d compressed with %s, want %s", i, cc.Compression(), wantCodec)
		}
	}
}

func TestRoundTripManyRows(t *testing.T) {
	opts, mem := checkedOptions(t, Options{RowGroupRows: 1000})
	const n = 2500
	pins := make([]clean.Pin, n)
	for i := range pins {
		pins[i] = clean.Pin{Ind: int64(i), UniqueID: fmt.Sprint("u", i)}
		if i%3 == 0 {
			pins[i].Category = str("art")
		}
	}
	var buf bytes.Buffer
	if err := WritePins(&buf, pins, testSources(n), opts); err != nil {
		t.Fatalf("WritePins: %v", err)
	}
	got, src, _, err := readPins(bytes.NewReader(buf.Bytes()), mem, nil)
	if err != nil {
		t.Fatalf("readPins: %v", err)
	}
	if !reflect.DeepEqual(got, pins) || !reflect.DeepEqual(src, testSources(n)) {
		t.Errorf("round trip of %d rows differs", n)
	}
	checkRowGroups(t, buf.Bytes(), roundTripCase{rows: n, opts: Options{RowGroupRows: 1000}})
}

func TestRoundTripRejected(t *testing.T) {
	rows := []Rejected{
		{Table: "pin", Reason: "not_object", Detail: "line is a JSON array", Source: "topics/x.pin/0/0.json", Line: 12, Raw: "[1,2]"},
		{Table: "geo", Reason: "bad_key", Source: "kinesis", Shard: "shardId-000000000001", Sequence: "4963", Raw: "{\"ind\":-1} ☃"},
		{},
	}
	for _, tc := range []struct {
		name string
		rows []Rejected
	}{{"rows", rows}, {"empty", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			opts, mem := checkedOptions(t, Options{})
			var buf bytes.Buffer
			if err := WriteRejected(&buf, tc.rows, opts); err != nil {
				t.Fatalf("WriteRejected: %v", err)
			}
			got, err := readRejected(bytes.NewReader(buf.Bytes()), mem)
			if err != nil {
				t.Fatalf("readRejected: %v", err)
			}
			if !reflect.DeepEqual(got, tc.rows) {
				t.Errorf("rows = %#v\nwant %#v", got, tc.rows)
			}
		})
	}
}

func TestRejectedInvalidUTF8(t *testing.T) {
	var buf bytes.Buffer
	in := []Rejected{{Table: "pin", Reason: "not_json", Raw: "ok \xff\xfe end", Detail: "\xc3"}}
	if err := WriteRejected(&buf, in, Options{}); err != nil {
		t.Fatalf("WriteRejected: %v", err)
	}
	got, err := ReadRejected(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("ReadRejected: %v", err)
	}
	if len(got) != 1 || got[0].Raw != "ok \uFFFD end" || got[0].Detail != "\uFFFD" {
		t.Errorf("got %#v, want invalid bytes replaced by U+FFFD", got)
	}
}

func TestSchemas(t *testing.T) {
	tests := []struct {
		name   string
		schema *arrow.Schema
		want   string // name:type:nullable, ...
	}{
		{"pin", PinSchema(false), "ind:int64:false,unique_id:utf8:false,title:utf8:true,description:utf8:true," +
			"follower_count:int64:true,poster_name:utf8:true,tag_list:utf8:true,is_image_or_video:utf8:true," +
			"image_src:utf8:true,save_location:utf8:true,category:utf8:true"},
		{"geo", GeoSchema(false), "ind:int64:false,country:utf8:true,coordinates:list<element: float64>:true," +
			"timestamp:timestamp[us, tz=UTC]:true"},
		{"user", UserSchema(false), "ind:int64:false,user_name:utf8:true,age:int32:true,date_joined:timestamp[us, tz=UTC]:true"},
		{"user with source", UserSchema(true), "ind:int64:false,user_name:utf8:true,age:int32:true," +
			"date_joined:timestamp[us, tz=UTC]:true,shard:utf8:false,sequence_number:utf8:false," +
			"arrival_time:timestamp[us, tz=UTC]:false"},
		{"rejected", RejectedSchema(), "table:utf8:false,reason:utf8:false,detail:utf8:false,source:utf8:false," +
			"line:int64:false,shard:utf8:false,sequence_number:utf8:false,raw:utf8:false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			for i, f := range tc.schema.Fields() {
				if i > 0 {
					got += ","
				}
				got += fmt.Sprintf("%s:%s:%v", f.Name, f.Type, f.Nullable)
			}
			if got != tc.want {
				t.Errorf("schema\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	ts := GeoSchema(false).Field(3).Type.(*arrow.TimestampType)
	if ts.Unit != arrow.Microsecond || ts.TimeZone != "UTC" {
		t.Errorf("timestamp type = %s, want us UTC", ts)
	}
}

// TestFileSchema checks what other readers see: the Parquet logical types,
// and the Arrow schema read back from the file.
func TestFileSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteGeos(&buf, testGeos(), testSources(len(testGeos())), Options{}); err != nil {
		t.Fatalf("WriteGeos: %v", err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("NewParquetReader: %v", err)
	}
	sc := pf.MetaData().Schema
	paths := map[string]bool{}
	for i := range sc.NumColumns() {
		col := sc.Column(i)
		paths[col.Path()] = true
		if col.Name() == "timestamp" || col.Name() == "arrival_time" {
			lt, ok := col.LogicalType().(schema.TimestampLogicalType)
			if !ok || !lt.IsAdjustedToUTC() || lt.TimeUnit() != schema.TimeUnitMicros {
				t.Errorf("column %s has logical type %v, want TIMESTAMP(MICROS, UTC)", col.Path(), col.LogicalType())
			}
		}
	}
	if !paths["coordinates.list.element"] {
		t.Errorf("no column coordinates.list.element (3-level LIST) in %v", paths)
	}

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	tbl, err := ReadTable(bytes.NewReader(buf.Bytes()), mem)
	if err != nil {
		t.Fatalf("ReadTable: %v", err)
	}
	defer tbl.Release()
	if !sameColumns(tbl.Schema(), GeoSchema(true)) {
		t.Errorf("read-back schema\n%s\nwant\n%s", tbl.Schema(), GeoSchema(true))
	}
}

func TestInsightRecordsRoundTrip(t *testing.T) {
	s := func(v string) clean.Str { return clean.Str{V: v, Valid: true} }
	in := insights.Input{
		Pins: []clean.Pin{
			{Ind: 1, UniqueID: "a", Category: s("art"), PosterName: s("Ann"), FollowerCount: clean.Int64{V: 9, Valid: true}},
			{Ind: 2, UniqueID: "b", Category: s("diy"), PosterName: s("Bob"), FollowerCount: clean.Int64{V: 3, Valid: true}},
		},
		// A post in 2015 leaves popular_category_by_year empty.
		Geos:  []clean.Geo{{Ind: 1, Country: s("Chile"), Timestamp: clean.Time{Micros: 1_450_000_000_000_000, Valid: true}}},
		Users: []clean.User{{Ind: 2, UserName: s("Bob"), Age: clean.Int32{V: 30, Valid: true}, DateJoined: clean.Time{Micros: 1_500_000_000_000_000, Valid: true}}},
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	recs, err := insights.Compute(in).Records(mem)
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	empty := 0
	for _, nr := range recs {
		t.Run(nr.Name, func(t *testing.T) {
			defer nr.Record.Release()
			if nr.Record.NumRows() == 0 {
				empty++
			}
			var buf bytes.Buffer
			if err := WriteRecord(&buf, nr.Record, Options{Allocator: mem}); err != nil {
				t.Fatalf("WriteRecord: %v", err)
			}
			tbl, err := ReadTable(bytes.NewReader(buf.Bytes()), mem)
			if err != nil {
				t.Fatalf("ReadTable: %v", err)
			}
			defer tbl.Release()
			if !sameColumns(tbl.Schema(), nr.Record.Schema()) {
				t.Fatalf("schema\n%s\nwant\n%s", tbl.Schema(), nr.Record.Schema())
			}
			if tbl.NumRows() != nr.Record.NumRows() {
				t.Fatalf("%d rows, want %d", tbl.NumRows(), nr.Record.NumRows())
			}
			for i := range int(tbl.NumCols()) {
				col := tbl.Column(i).Data()
				if nr.Record.NumRows() == 0 {
					continue
				}
				if len(col.Chunks()) != 1 || !array.Equal(col.Chunk(0), nr.Record.Column(i)) {
					t.Errorf("column %s = %v, want %v", tbl.Schema().Field(i).Name, col.Chunks(), nr.Record.Column(i))
				}
			}
		})
	}
	if empty == 0 || empty == len(recs) {
		t.Errorf("%d of %d insight tables empty; want both empty and non-empty tables covered", empty, len(recs))
	}
}

func TestErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePins(&buf, testPins(), testSources(1), Options{}); err == nil {
		t.Error("WritePins with 1 source for 4 rows: no error")
	}
	if err := WriteUsers(&buf, nil, nil, Options{RowGroupRows: -1}); !errors.Is(err, ErrOptions) {
		t.Errorf("WriteUsers with RowGroupRows -1: err = %v, want ErrOptions", err)
	}
	if err := WriteUsers(&buf, nil, nil, Options{PageBytes: -1}); !errors.Is(err, ErrOptions) {
		t.Errorf("WriteUsers with PageBytes -1: err = %v, want ErrOptions", err)
	}
	if err := WriteUsers(&buf, nil, nil, Options{Compression: compress.Codecs.Lzo}); !errors.Is(err, ErrOptions) {
		t.Errorf("WriteUsers with LZO: err = %v, want ErrOptions", err)
	}

	buf.Reset()
	if err := WriteGeos(&buf, testGeos(), nil, Options{}); err != nil {
		t.Fatalf("WriteGeos: %v", err)
	}
	if _, _, err := ReadPins(bytes.NewReader(buf.Bytes())); !errors.Is(err, ErrSchema) {
		t.Errorf("ReadPins of a geo file: err = %v, want ErrSchema", err)
	}
	if _, err := ReadRejected(bytes.NewReader(buf.Bytes())); !errors.Is(err, ErrSchema) {
		t.Errorf("ReadRejected of a geo file: err = %v, want ErrSchema", err)
	}
	if _, _, err := ReadUsers(bytes.NewReader([]byte("not parquet"))); err == nil {
		t.Error("ReadUsers of garbage: no error")
	}
}

// sameColumns reports whether a and b have the same column names, types and
// nullability, whatever their metadata (the reader adds PARQUET:field_id).
func sameColumns(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i, f := range a.Fields() {
		g := b.Field(i)
		if f.Name != g.Name || f.Nullable != g.Nullable || !arrow.TypeEqual(f.Type, g.Type) {
			return false
		}
	}
	return true
}

// closeRecorder is a writer that records whether it was closed.
type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestWriterNotClosed(t *testing.T) {
	var w closeRecorder
	if err := WriteUsers(&w, testUsers(), nil, Options{}); err != nil {
		t.Fatalf("WriteUsers: %v", err)
	}
	if w.closed {
		t.Error("WriteUsers closed its writer")
	}
	if _, _, err := ReadUsers(bytes.NewReader(w.Bytes())); err != nil {
		t.Errorf("ReadUsers: %v", err)
	}
}

// TestOriginsRoundTrip writes clean rows with origins (the batch job's
// clean tables) and reads them back, rows and origins in order.
func TestOriginsRoundTrip(t *testing.T) {
	pins := []clean.Pin{{Ind: 1, UniqueID: "a"}, {Ind: 2, UniqueID: "b"}, {Ind: 3, UniqueID: "c"}}
	org := []Origin{{0, 10, "t/partition=0/t+0+0000000010.json"}, {1, 3, "t/partition=1/t+1+0000000000.json"}, {0, 11, "t/partition=0/t+0+0000000010.json"}}
	var buf bytes.Buffer
	if err := WritePins(&buf, pins, nil, Options{Origins: org, RowGroupRows: 2}); err != nil {
		t.Fatal(err)
	}
	got, gotOrg, err := ReadPinState(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].UniqueID != "c" || !slices.Equal(gotOrg, org) {
		t.Fatalf("read back %v %v, want %v %v", got, gotOrg, pins, org)
	}
	// A plain reader reads the rows of such a file too.
	if rows, src, err := ReadPins(bytes.NewReader(buf.Bytes())); err != nil || len(rows) != 3 || src != nil {
		t.Fatalf("ReadPins: %v rows, sources %v, err %v", len(rows), src, err)
	}
	// Every column has min/max statistics but the object keys.
	for _, cc := range firstRowGroupChunks(t, buf.Bytes()) {
		col := cc.PathInSchema().String()
		set, err := cc.StatsSet()
		if err != nil {
			t.Fatal(err)
		}
		if want := col != ColOriginObject; set != want {
			t.Errorf("column %s: statistics set %v, want %v", col, set, want)
		}
	}
	users := []clean.User{{Ind: 5}}
	buf.Reset()
	if err := WriteUsers(&buf, users, nil, Options{Origins: org}); err == nil {
		t.Fatal("WriteUsers with 3 origins for 1 row: no error")
	}
	if !org[0].Less(org[2]) || org[2].Less(org[0]) || !org[0].Less(org[1]) {
		t.Fatal("Origin.Less does not order by partition, offset, object")
	}
}
