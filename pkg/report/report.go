// Package report renders pinpipe's HTML pages: the batch job's run report
// (WriteBatch: the nine insight tables as charts and sortable tables, the
// run's quality, and the trend over previous runs) and the stream job's live
// page (LivePage, which polls the job's JSON status).
//
// The pages are self-contained: the chart library (Chart.js 4, MIT, vendored
// under assets/ and embedded in the binary) and the page's own CSS and
// script are inlined, so a page needs no network to be viewed. Every chart
// has its data as a table beside it (the accessible fallback), and carries
// the number of bars it must draw in data-bars, which the browser test
// compares with what Chart.js drew.
//
// The package does no I/O beyond writing to the io.Writer or
// http.ResponseWriter it is given; callers read the tables and pass values.
package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The embedded assets.
var (
	//go:embed assets/chart.umd.min.js
	chartJS string
	//go:embed assets/page.css
	pageCSS string
	//go:embed assets/page.js
	pageJS string
)

// ChartJSVersion is the version of the embedded Chart.js.
const ChartJSVersion = "4.6.2"

// Table is a table of values as the pages show it.
type Table struct {
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
	Rows    [][]Cell `json:"rows"`
}

// Body is the rows of t as the rows of an HTML table body: a tr per row, a
// td per cell (class "num" in a numeric column, "null" for a null). Made
// here rather than by the page's template: a report's trend tables hold
// thousands of cells, which the template would render one reflective call
// at a time.
func (t Table) Body() template.HTML {
	var b strings.Builder
	for _, row := range t.Rows {
		b.WriteString("<tr>")
		for i, c := range row {
			switch {
			case c.Null:
				b.WriteString(`<td class="null">null</td>`)
				continue
			case i < len(t.Columns) && t.Columns[i].Numeric:
				b.WriteString(`<td class="num">`)
			default:
				b.WriteString("<td>")
			}
			template.HTMLEscape(&b, []byte(c.Text))
			b.WriteString("</td>")
		}
		b.WriteString("</tr>\n")
	}
	return template.HTML(b.String())
}

// Column is a column of a Table.
type Column struct {
	Name    string `json:"name"`
	Numeric bool   `json:"numeric,omitempty"` // integers: right-aligned, sorted as numbers
}

// Cell is one value of a Table: a string, an integer, or null.
type Cell struct {
	Text string `json:"t,omitempty"` // the value as shown ("" for null)
	Num  int64  `json:"n,omitempty"` // the value of a numeric cell
	Null bool   `json:"null,omitempty"`
}

// Str is a string cell.
func Str(s string) Cell { return Cell{Text: s} }

// Int is an integer cell.
func Int(n int64) Cell { return Cell{Text: strconv.FormatInt(n, 10), Num: n} }

// Col returns the index of the column named name, or -1.
func (t Table) Col(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// FromArrow converts an Arrow table to a Table named name. Columns of type
// utf8, large_utf8, int32, int64 and date32 (shown as YYYY-MM-DD) are
// supported; another type is an error naming the column.
func FromArrow(name string, tbl arrow.Table) (Table, error) {
	cols, err := Columns(tbl.Schema())
	if err != nil {
		return Table{}, fmt.Errorf("table %s: %w", name, err)
	}
	out := Table{Name: name, Columns: cols}
	tr := array.NewTableReader(tbl, 1<<16)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		n := int(rec.NumRows())
		first := len(out.Rows)
		for range n {
			out.Rows = append(out.Rows, make([]Cell, len(out.Columns)))
		}
		for c := range out.Columns {
			col := rec.Column(c)
			for i := range n {
				out.Rows[first+i][c] = cellOf(col, i)
			}
		}
	}
	if err := tr.Err(); err != nil {
		return Table{}, fmt.Errorf("table %s: %w", name, err)
	}
	return out, nil
}

// Columns are the columns of a Table of schema: strings and dates as text,
// integers as numbers.
func Columns(schema *arrow.Schema) ([]Column, error) {
	var cols []Column
	for _, f := range schema.Fields() {
		switch f.Type.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.DATE32:
			cols = append(cols, Column{Name: f.Name})
		case arrow.INT32, arrow.INT64:
			cols = append(cols, Column{Name: f.Name, Numeric: true})
		default:
			return nil, fmt.Errorf("column %s has type %s, want a string, int32, int64 or date32", f.Name, f.Type)
		}
	}
	return cols, nil
}

func cellOf(a arrow.Array, i int) Cell {
	if a.IsNull(i) {
		return Cell{Null: true}
	}
	switch a := a.(type) {
	case *array.String:
		return Str(a.Value(i))
	case *array.LargeString:
		return Str(a.Value(i))
	case *array.Int32:
		return Int(int64(a.Value(i)))
	case *array.Int64:
		return Int(a.Value(i))
	case *array.Date32:
		return Str(a.Value(i).FormattedString())
	}
	return Cell{Null: true} // not reached: FromArrow checked the types
}

// FromRecords converts Arrow records of one schema to a Table named name.
func FromRecords(name string, schema *arrow.Schema, recs ...arrow.RecordBatch) (Table, error) {
	tbl := array.NewTableFromRecords(schema, recs)
	defer tbl.Release()
	return FromArrow(name, tbl)
}
