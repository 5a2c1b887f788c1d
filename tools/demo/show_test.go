package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestTextTableWrite(t *testing.T) {
	tbl := textTable{
		header: []string{"country", "n"},
		right:  []bool{false, true},
		rows:   [][]string{{"Albania", "2"}, {"Côte d'Ivoire", "10"}, {"Chad", "3"}},
	}
	for _, tc := range []struct {
		name    string
		maxRows int
		want    string
	}{
		{name: "all rows", maxRows: 0, want: "" +
			"  country         n\n" +
			"  -------------  --\n" +
			"  Albania         2\n" +
			"  Côte d'Ivoire  10\n" +
			"  Chad            3\n"},
		{name: "truncated", maxRows: 1, want: "" +
			"  country  n\n" +
			"  -------  -\n" +
			"  Albania  2\n" +
			"  … 2 more rows\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			tbl.write(&b, tc.maxRows)
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP pinpipe_stream_records_in_total Kinesis records consumed.
# TYPE pinpipe_stream_records_in_total counter
pinpipe_stream_records_in_total{table="geo"} 500
pinpipe_stream_records_in_total{table="pin"} 498
pinpipe_s3sink_lag_records{partition="2",topic="p.pin"} 0
go_goroutines 12
`
	ss, err := parseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, metric, key, value string
		want                     float64
	}{
		{"one label value", "pinpipe_stream_records_in_total", "table", "pin", 498},
		{"all label values", "pinpipe_stream_records_in_total", "", "", 998},
		{"two labels", "pinpipe_s3sink_lag_records", "topic", "p.pin", 0},
		{"no labels", "go_goroutines", "", "", 12},
		{"missing", "nope", "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sum(ss, tc.metric, tc.key, tc.value); got != tc.want {
				t.Errorf("sum = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRedactArg(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"mysql://root:secret@tcp(127.0.0.1:3306)/test", "mysql://root:***@tcp(127.0.0.1:3306)/test"},
		{"root@tcp(127.0.0.1:3306)/test", "root@tcp(127.0.0.1:3306)/test"},
		{"u:p@tcp(h:3306)/db", "u:***@tcp(h:3306)/db"},
		{"--count", "--count"},
	} {
		if got := redactArg(tc.in); got != tc.want {
			t.Errorf("redactArg(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTextRowsDropsColumn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "country", Type: arrow.BinaryTypes.String},
		{Name: "dt", Type: arrow.FixedWidthTypes.Date32},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"Albania", "Chad"}, nil)
	b.Field(1).(*array.Date32Builder).AppendValues([]arrow.Date32{20000, 20000}, nil)
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{2, 3}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	tbl := array.NewTableFromRecords(schema, []arrow.RecordBatch{rec})
	defer tbl.Release()

	got, err := textRows(tbl, "dt")
	if err != nil {
		t.Fatal(err)
	}
	want := textTable{header: []string{"country", "n"}, right: []bool{false, true}, rows: [][]string{{"Albania", "2"}, {"Chad", "3"}}}
	if !slices.Equal(got.header, want.header) || !slices.Equal(got.right, want.right) || !sameRows(got, want) {
		t.Errorf("textRows = %+v, want %+v", got, want)
	}
}

func TestSameRows(t *testing.T) {
	a := textTable{header: []string{"c", "n"}, rows: [][]string{{"a", "1"}, {"b", "2"}}}
	for _, tc := range []struct {
		name string
		b    textTable
		want bool
	}{
		{"same order", textTable{header: []string{"c", "n"}, rows: [][]string{{"a", "1"}, {"b", "2"}}}, true},
		{"other order", textTable{header: []string{"c", "n"}, rows: [][]string{{"b", "2"}, {"a", "1"}}}, true},
		{"other value", textTable{header: []string{"c", "n"}, rows: [][]string{{"a", "1"}, {"b", "3"}}}, false},
		{"a row missing", textTable{header: []string{"c", "n"}, rows: [][]string{{"a", "1"}}}, false},
		{"a row twice", textTable{header: []string{"c", "n"}, rows: [][]string{{"a", "1"}, {"a", "1"}}}, false},
		{"other columns", textTable{header: []string{"c", "m"}, rows: [][]string{{"a", "1"}, {"b", "2"}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sameRows(a, tc.b); got != tc.want {
				t.Errorf("sameRows = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLocalPath(t *testing.T) {
	for _, tc := range []struct{ localS3, url, want string }{
		{".stack/s3", "s3://pinpipe/warehouse/ns.db/", ".stack/s3/pinpipe/warehouse/ns.db/"},
		{".stack/s3", "s3://pinpipe/warehouse/ns.db/_quality/dt=2026-01-02/quality.json", ".stack/s3/pinpipe/warehouse/ns.db/_quality/dt=2026-01-02/quality.json"},
		{"", "s3://pinpipe/warehouse/", "-"},
		{".stack/s3", "file:///tmp/warehouse", "-"},
	} {
		if got := localPath(tc.localS3, tc.url); got != tc.want {
			t.Errorf("localPath(%q, %q) = %q, want %q", tc.localS3, tc.url, got, tc.want)
		}
	}
}
