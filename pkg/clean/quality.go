package clean

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
}

// Quality is the quality report of the three tables.
type Quality struct {
	Pin  TableQuality `json:"pin"`
	Geo  TableQuality `json:"geo"`
	User TableQuality `json:"user"`
}
