package report

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestFromArrow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "post_year", Type: arrow.PrimitiveTypes.Int32},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
		{Name: "dt", Type: arrow.FixedWidthTypes.Date32},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"Chile", ""}, []bool{true, false})
	b.Field(1).(*array.Int32Builder).AppendValues([]int32{2018, 2019}, nil)
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{-3, 1 << 40}, nil)
	b.Field(3).(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32FromTime(mustDate(t, "2026-11-25")), 0}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	tbl, err := FromRecords("t", schema, rec)
	if err != nil {
		t.Fatal(err)
	}
	if got := []bool{tbl.Columns[0].Numeric, tbl.Columns[1].Numeric, tbl.Columns[2].Numeric, tbl.Columns[3].Numeric}; got[0] || !got[1] || !got[2] || got[3] {
		t.Errorf("numeric columns %v, want the int32 and int64 ones", got)
	}
	want := [][]string{{"Chile", "2018", "-3", "2026-11-25"}, {"", "2019", "1099511627776", "1970-01-01"}}
	for i, row := range tbl.Rows {
		for j, c := range row {
			if c.Text != want[i][j] {
				t.Errorf("row %d column %d: %q, want %q", i, j, c.Text, want[i][j])
			}
		}
	}
	if !tbl.Rows[1][0].Null || tbl.Rows[0][2].Num != -3 {
		t.Errorf("cells %+v", tbl.Rows)
	}

	bad := arrow.NewSchema([]arrow.Field{{Name: "score", Type: arrow.PrimitiveTypes.Float64}}, nil)
	fb := array.NewRecordBuilder(mem, bad)
	defer fb.Release()
	frec := fb.NewRecordBatch()
	defer frec.Release()
	if _, err := FromRecords("t", bad, frec); err == nil || !strings.Contains(err.Error(), "column score has type float64") {
		t.Errorf("a float column: %v, want an error naming the column and its type", err)
	}
}

func mustDate(t *testing.T, s string) (d time.Time) {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
