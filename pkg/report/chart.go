package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// chart is what the page's script gives Chart.js: a bar or line chart of
// integer series over labels. A nil point is a gap (no bar).
type chart struct {
	Type       string    `json:"type"` // "bar" or "line"
	Horizontal bool      `json:"horizontal,omitempty"`
	Stacked    bool      `json:"stacked,omitempty"`
	Labels     []string  `json:"labels"`
	Datasets   []dataset `json:"datasets"`
	XTitle     string    `json:"xTitle,omitempty"`
	YTitle     string    `json:"yTitle,omitempty"`
}

type dataset struct {
	Label string   `json:"label"`
	Data  []*int64 `json:"data"`
}

// bars is the number of bars the chart draws: its non-nil points (a line
// chart draws none).
func (c chart) bars() int {
	if c.Type != "bar" {
		return 0
	}
	n := 0
	for _, d := range c.Datasets {
		for _, v := range d.Data {
			if v != nil {
				n++
			}
		}
	}
	return n
}

// height is the chart's height in CSS pixels: horizontal bars get a fixed
// band each, so that every label stays readable.
func (c chart) height() int {
	if c.Horizontal {
		return max(160, 60+22*len(c.Labels)*max(1, len(c.Datasets)*boolInt(!c.Stacked)))
	}
	return 320
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// figure is a chart with its table: what the page shows of one table.
type figure struct {
	ID      string // unique in the page; the table's id is ID + "-table"
	Title   string
	Caption string // what the chart shows, in words (its aria-label too)
	Chart   chart
	Table   Table
	// Empty is shown instead of the chart when it would have no point.
	Empty string
}

// Bars is the number of bars of the chart (data-bars).
func (f figure) Bars() int { return f.Chart.bars() }

// Height is the chart's height in CSS pixels.
func (f figure) Height() int { return f.Chart.height() }

// HasChart reports whether the figure draws a chart.
func (f figure) HasChart() bool {
	for _, d := range f.Chart.Datasets {
		for _, v := range d.Data {
			if v != nil {
				return true
			}
		}
	}
	return false
}

func ptr(n int64) *int64 { return &n }

// valueColumn is the column a chart of t draws: its last numeric column.
func valueColumn(t Table) int {
	for i := len(t.Columns) - 1; i >= 0; i-- {
		if t.Columns[i].Numeric {
			return i
		}
	}
	return -1
}

// barChart draws one bar per row of t: labelled by the columns other than
// the value column (and skip), valued by the value column. Horizontal when
// a label column is a string.
func barChart(t Table, skip ...string) (chart, error) {
	v := valueColumn(t)
	if v < 0 {
		return chart{}, fmt.Errorf("table %s has no numeric column to draw", t.Name)
	}
	c := chart{Type: "bar", Datasets: []dataset{{Label: t.Columns[v].Name}}, XTitle: t.Columns[v].Name}
	var keys []int
	for i, col := range t.Columns {
		if i != v && !slices.Contains(skip, col.Name) {
			keys = append(keys, i)
			c.Horizontal = c.Horizontal || !col.Numeric
		}
	}
	if !c.Horizontal {
		c.XTitle, c.YTitle = "", t.Columns[v].Name
	}
	for _, row := range t.Rows {
		c.Labels = append(c.Labels, rowLabel(row, keys))
		var p *int64
		if !row[v].Null {
			p = ptr(row[v].Num)
		}
		c.Datasets[0].Data = append(c.Datasets[0].Data, p)
	}
	return c, nil
}

func rowLabel(row []Cell, keys []int) string {
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, row[k].Text)
	}
	return strings.Join(parts, " · ")
}

// groupedChart draws the value column of t as grouped bars: one group per
// value of column x, one series per value of column series.
func groupedChart(t Table, x, series string) (chart, error) {
	xi, si, v := t.Col(x), t.Col(series), valueColumn(t)
	if xi < 0 || si < 0 || v < 0 {
		return chart{}, fmt.Errorf("table %s: want columns %s and %s and a numeric value", t.Name, x, series)
	}
	xs := distinct(t, xi)
	ss := distinct(t, si)
	c := chart{Type: "bar", Labels: xs, XTitle: x, YTitle: t.Columns[v].Name}
	for _, s := range ss {
		d := dataset{Label: s, Data: make([]*int64, len(xs))}
		for _, row := range t.Rows {
			if row[si].Text == s && !row[v].Null {
				d.Data[slices.Index(xs, row[xi].Text)] = ptr(row[v].Num)
			}
		}
		c.Datasets = append(c.Datasets, d)
	}
	return c, nil
}

// distinct returns the distinct values of column i, numbers by value,
// strings by byte order.
func distinct(t Table, i int) []string {
	seen := map[string]Cell{}
	for _, row := range t.Rows {
		seen[row[i].Text] = row[i]
	}
	cells := make([]Cell, 0, len(seen))
	for _, c := range seen {
		cells = append(cells, c)
	}
	slices.SortFunc(cells, func(a, b Cell) int {
		if t.Columns[i].Numeric {
			return cmp.Compare(a.Num, b.Num)
		}
		return strings.Compare(a.Text, b.Text)
	})
	out := make([]string, len(cells))
	for j, c := range cells {
		out[j] = c.Text
	}
	return out
}

// maxTrendSeries bounds the lines of a trend chart; the table beside it has
// every row.
const maxTrendSeries = 8

// trendChart draws the value column of h (a table with a date column) over
// the dates: one line per key (the other columns), at most maxTrendSeries,
// those with the largest values on the latest date first. It returns the
// number of keys.
func trendChart(h Table, date string) (chart, int, error) {
	di, v := h.Col(date), valueColumn(h)
	if di < 0 || v < 0 {
		return chart{}, 0, fmt.Errorf("table %s: want a column %s and a numeric value", h.Name, date)
	}
	var keys []int
	for i := range h.Columns {
		if i != di && i != v {
			keys = append(keys, i)
		}
	}
	dates := distinct(h, di)
	series := map[string][]*int64{}
	var order []string
	for _, row := range h.Rows {
		k := rowLabel(row, keys)
		if k == "" {
			k = h.Columns[v].Name
		}
		s, ok := series[k]
		if !ok {
			s = make([]*int64, len(dates))
			order = append(order, k)
		}
		if !row[v].Null {
			s[slices.Index(dates, row[di].Text)] = ptr(row[v].Num)
		}
		series[k] = s
	}
	latest := func(s []*int64) int64 {
		for i := len(s) - 1; i >= 0; i-- {
			if s[i] != nil {
				return *s[i]
			}
		}
		return -1
	}
	slices.SortStableFunc(order, func(a, b string) int {
		return cmp.Or(cmp.Compare(latest(series[b]), latest(series[a])), strings.Compare(a, b))
	})
	n := len(order)
	order = order[:min(n, maxTrendSeries)]
	slices.Sort(order)
	c := chart{Type: "line", Labels: dates, XTitle: date, YTitle: h.Columns[v].Name}
	for _, k := range order {
		c.Datasets = append(c.Datasets, dataset{Label: k, Data: series[k]})
	}
	return c, n, nil
}
