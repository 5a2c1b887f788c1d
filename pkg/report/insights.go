package report

import (
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pinpipe/pinpipe/pkg/insights"
)

// InsightTables converts the nine insight tables, in the order of
// insights.Names, with the columns of insights.Schema. A nil mem means
// memory.DefaultAllocator.
func InsightTables(t insights.Tables, mem memory.Allocator) ([]Table, error) {
	recs, err := t.Records(mem)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, r := range recs {
			r.Record.Release()
		}
	}()
	out := make([]Table, 0, len(recs))
	for _, r := range recs {
		tbl, err := FromRecords(r.Name, r.Record.Schema(), r.Record)
		if err != nil {
			return nil, err
		}
		out = append(out, tbl)
	}
	return out, nil
}
