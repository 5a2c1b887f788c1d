package clean

import (
	"cmp"
	"slices"
	"strings"
)

// ColumnNulls counts the nulls produced in one column, by cause.
type ColumnNulls struct {
	Missing     int64 `json:"missing"`     // key absent, JSON null, or empty after trimming
	Placeholder int64 `json:"placeholder"` // a "no data" placeholder of cleaning.md
	Unparseable int64 `json:"unparseable"` // a value that could not be parsed or is out of range
}

// Total is the number of nulls in the column.
func (n ColumnNulls) Total() int64 { return n.Missing + n.Placeholder + n.Unparseable }

// TableQuality is the quality report of one table (cleaning.md "Quality report").
type TableQuality struct {
	RowsRead    int64                  `json:"rows_read"`   // records seen, blank lines excluded
	BlankLines  int64                  `json:"blank_lines"` // skipped, not records
	Rejected    map[Reason]int64       `json:"rejected"`    // by reason
	Nulls       map[string]ColumnNulls `json:"nulls"`       // by output column name
	Duplicates  int64                  `json:"duplicates_dropped"`
	RowsWritten int64                  `json:"rows_written"`
	// UnknownKeys counts, by name, the records (rejected ones included) that
	// hold a key the table does not know: a field added or renamed upstream.
	// The names beyond the first MaxUnknownKeys of a Cleaner are counted
	// under OtherUnknownKeys, and so are those beyond the MaxUnknownKeys
	// largest counts of a merged or normalized report.
	UnknownKeys map[string]int64 `json:"unknown_keys"`
}

// Quality is the quality report of the three tables.
type Quality struct {
	Pin  TableQuality `json:"pin"`
	Geo  TableQuality `json:"geo"`
	User TableQuality `json:"user"`
}

// Table returns the report of table t, or nil for an unknown table.
func (q *Quality) Table(t Table) *TableQuality {
	switch t {
	case TablePin:
		return &q.Pin
	case TableGeo:
		return &q.Geo
	case TableUser:
		return &q.User
	}
	return nil
}

// NewQuality returns a report with every count at zero, in the shape of
// Normalize.
func NewQuality() Quality {
	var q Quality
	q.Normalize()
	return q
}

// Normalize gives q the shape of a report, whatever way its counts were
// summed: maps that are never nil, a Nulls entry for every nullable column
// of each table (NullableColumns), zero or not, and a Rejected entry only
// for the reasons counted at least once.
func (q *Quality) Normalize() {
	for _, t := range Tables {
		q.Table(t).normalize(t)
	}
}

func (t *TableQuality) normalize(table Table) {
	if t.Rejected == nil {
		t.Rejected = make(map[Reason]int64)
	}
	for r, n := range t.Rejected {
		if n == 0 {
			delete(t.Rejected, r)
		}
	}
	if t.UnknownKeys == nil {
		t.UnknownKeys = make(map[string]int64)
	}
	for k, n := range t.UnknownKeys {
		if n == 0 {
			delete(t.UnknownKeys, k)
		}
	}
	capUnknownKeys(t.UnknownKeys)
	cols := NullableColumns(table)
	if t.Nulls == nil {
		t.Nulls = make(map[string]ColumnNulls, len(cols))
	}
	for _, col := range cols {
		if _, ok := t.Nulls[col]; !ok {
			t.Nulls[col] = ColumnNulls{}
		}
	}
}

// Merge adds the counters of o to q (to combine the reports of per-worker
// Cleaners, or to keep a running total). o is not modified.
func (q *Quality) Merge(o Quality) {
	q.Pin.Merge(o.Pin)
	q.Geo.Merge(o.Geo)
	q.User.Merge(o.User)
}

// Merge adds the counters of o to t. o is not modified; the maps of t are
// created when nil.
func (t *TableQuality) Merge(o TableQuality) {
	t.RowsRead += o.RowsRead
	t.BlankLines += o.BlankLines
	t.Duplicates += o.Duplicates
	t.RowsWritten += o.RowsWritten
	if t.Rejected == nil {
		t.Rejected = make(map[Reason]int64, len(o.Rejected))
	}
	for r, n := range o.Rejected {
		t.Rejected[r] += n
	}
	if t.Nulls == nil {
		t.Nulls = make(map[string]ColumnNulls, len(o.Nulls))
	}
	if t.UnknownKeys == nil {
		t.UnknownKeys = make(map[string]int64, len(o.UnknownKeys))
	}
	for k, n := range o.UnknownKeys {
		t.UnknownKeys[k] += n
	}
	capUnknownKeys(t.UnknownKeys)
	for col, n := range o.Nulls {
		m := t.Nulls[col]
		m.Missing += n.Missing
		m.Placeholder += n.Placeholder
		m.Unparseable += n.Unparseable
		t.Nulls[col] = m
	}
}

// capUnknownKeys keeps at most MaxUnknownKeys names in m besides
// OtherUnknownKeys, so that a running total of the reports of many Cleaners
// stays bounded: the names with the largest counts stay (ties by name), the
// counts of the others are added to OtherUnknownKeys.
func capUnknownKeys(m map[string]int64) {
	n := len(m)
	if _, ok := m[OtherUnknownKeys]; ok {
		n--
	}
	if n <= MaxUnknownKeys {
		return
	}
	names := make([]string, 0, len(m))
	for k := range m {
		if k != OtherUnknownKeys {
			names = append(names, k)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b))
	})
	for _, k := range names[MaxUnknownKeys:] {
		m[OtherUnknownKeys] += m[k]
		delete(m, k)
	}
}
