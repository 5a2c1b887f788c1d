package report

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// tableQuality is one table's quality report as the pages show it, read
// from its JSON form: the known sections, and any other count or map of
// counts the report holds (unknown_keys, or what is added later) as it is.
type tableQuality struct {
	Table    string
	Scalars  map[string]int64 // rows_read, blank_lines, rows_written, duplicates_dropped, ...
	Rejected map[string]int64 // by reason
	Nulls    map[string]clean.ColumnNulls
	Maps     map[string]map[string]int64 // other maps of counts, by field: unknown_keys, ...
}

// The scalar fields shown first, in this order; the others follow by name.
var knownScalars = []string{"rows_read", "blank_lines", "rows_written", "duplicates_dropped"}

func decodeQuality(q clean.Quality) ([]tableQuality, error) {
	var out []tableQuality
	for _, t := range clean.Tables {
		raw, err := json.Marshal(q.Table(t))
		if err != nil {
			return nil, err
		}
		tq, err := decodeTableQuality(string(t), raw)
		if err != nil {
			return nil, err
		}
		out = append(out, tq)
	}
	return out, nil
}

// decodeTableQuality reads the JSON form of a clean.TableQuality.
func decodeTableQuality(table string, raw []byte) (tableQuality, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return tableQuality{}, fmt.Errorf("quality of table %s: %w", table, err)
	}
	tq := tableQuality{Table: table, Scalars: map[string]int64{}, Rejected: map[string]int64{},
		Nulls: map[string]clean.ColumnNulls{}, Maps: map[string]map[string]int64{}}
	for name, v := range fields {
		var err error
		switch name {
		case "rejected":
			err = json.Unmarshal(v, &tq.Rejected)
		case "nulls":
			err = json.Unmarshal(v, &tq.Nulls)
		default:
			var n int64
			if json.Unmarshal(v, &n) == nil {
				tq.Scalars[name] = n
				continue
			}
			var m map[string]int64
			if json.Unmarshal(v, &m) == nil {
				tq.Maps[name] = m
			}
			// Anything else is not a count: not shown.
		}
		if err != nil {
			return tableQuality{}, fmt.Errorf("quality of table %s, field %s: %w", table, name, err)
		}
	}
	return tq, nil
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func nullTotal(m map[string]clean.ColumnNulls) int64 {
	var n int64
	for _, v := range m {
		n += v.Total()
	}
	return n
}

// scalarNames and mapNames are the fields of qs in the order of the columns.
func scalarNames(qs []tableQuality) []string {
	set := map[string]bool{}
	for _, q := range qs {
		for k := range q.Scalars {
			set[k] = true
		}
	}
	out := slices.Clone(knownScalars)
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func mapNames(qs []tableQuality) []string {
	set := map[string]bool{}
	for _, q := range qs {
		for k := range q.Maps {
			set[k] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// title turns a field name into words: "unknown_keys" -> "unknown keys".
func title(field string) string { return strings.ReplaceAll(field, "_", " ") }

// qualitySummary is one row per table: the scalar counts, the rejected,
// null and other map totals.
func qualitySummary(name string, qs []tableQuality) Table {
	scalars, others := scalarNames(qs), mapNames(qs)
	t := Table{Name: name, Columns: []Column{{Name: "table"}}}
	for _, s := range scalars {
		t.Columns = append(t.Columns, Column{Name: s, Numeric: true})
	}
	t.Columns = append(t.Columns, Column{Name: "rejected", Numeric: true}, Column{Name: "nulls", Numeric: true})
	for _, m := range others {
		t.Columns = append(t.Columns, Column{Name: m, Numeric: true})
	}
	for _, q := range qs {
		row := []Cell{Str(q.Table)}
		for _, s := range scalars {
			row = append(row, Int(q.Scalars[s]))
		}
		row = append(row, Int(sum(q.Rejected)), Int(nullTotal(q.Nulls)))
		for _, m := range others {
			row = append(row, Int(sum(q.Maps[m])))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// qualityFigures are the charts of a run's quality: rejections by reason,
// nulls by column and cause, and one per other map of counts.
func qualityFigures(qs []tableQuality) []figure {
	rej := figure{ID: "q-rejected", Title: "Rejected lines by reason",
		Caption: "Rejected lines of the run, by table and reason", Empty: "No line was rejected.",
		Table: Table{Name: "rejected", Columns: []Column{{Name: "table"}, {Name: "reason"}, {Name: "count", Numeric: true}}}}
	for _, q := range qs {
		for _, r := range slices.Sorted(maps.Keys(q.Rejected)) {
			rej.Table.Rows = append(rej.Table.Rows, []Cell{Str(q.Table), Str(r), Int(q.Rejected[r])})
		}
	}
	rej.Chart, _ = barChart(rej.Table) // has its value column

	nulls := figure{ID: "q-nulls", Title: "Nulls by column and cause",
		Caption: "Nulls produced in each column of the run's rows, stacked by cause (missing, placeholder, unparseable)",
		Empty:   "No null was produced.",
		Table: Table{Name: "nulls", Columns: []Column{{Name: "table"}, {Name: "column"}, {Name: "missing", Numeric: true},
			{Name: "placeholder", Numeric: true}, {Name: "unparseable", Numeric: true}, {Name: "total", Numeric: true}}}}
	nulls.Chart = chart{Type: "bar", Horizontal: true, Stacked: true, XTitle: "nulls",
		Datasets: []dataset{{Label: "missing"}, {Label: "placeholder"}, {Label: "unparseable"}}}
	nonZero := func(n int64) *int64 {
		if n == 0 {
			return nil
		}
		return ptr(n)
	}
	for _, q := range qs {
		for _, col := range slices.Sorted(maps.Keys(q.Nulls)) {
			n := q.Nulls[col]
			nulls.Table.Rows = append(nulls.Table.Rows, []Cell{Str(q.Table), Str(col), Int(n.Missing), Int(n.Placeholder), Int(n.Unparseable), Int(n.Total())})
			nulls.Chart.Labels = append(nulls.Chart.Labels, q.Table+"."+col)
			for i, v := range []int64{n.Missing, n.Placeholder, n.Unparseable} {
				nulls.Chart.Datasets[i].Data = append(nulls.Chart.Datasets[i].Data, nonZero(v))
			}
		}
	}
	figs := []figure{rej, nulls}
	for _, m := range mapNames(qs) {
		f := figure{ID: "q-" + strings.ReplaceAll(m, "_", "-"), Title: strings.ToUpper(title(m)[:1]) + title(m)[1:],
			Caption: "Counts of " + title(m) + " in the run's lines, by table", Empty: "None.",
			Table: Table{Name: m, Columns: []Column{{Name: "table"}, {Name: "key"}, {Name: "count", Numeric: true}}}}
		for _, q := range qs {
			for _, k := range slices.Sorted(maps.Keys(q.Maps[m])) {
				f.Table.Rows = append(f.Table.Rows, []Cell{Str(q.Table), Str(k), Int(q.Maps[m][k])})
			}
		}
		f.Chart, _ = barChart(f.Table)
		figs = append(figs, f)
	}
	return figs
}
