package report

import (
	"fmt"
	"io"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// benchBatch is the report of a run over 11,000 sample rows (every row once,
// cleaned): the insight tables of a full sample, with 30 dates of history
// and 30 runs.
func benchBatch(b *testing.B) Batch {
	b.Helper()
	g, c := sample.New(1), clean.New()
	var in insights.Input
	for i := range 11000 {
		p, geo, u := g.DirtyRecords(i)
		if r, err := c.Pin(p); err == nil {
			in.Pins = append(in.Pins, r)
		}
		if r, err := c.Geo(geo); err == nil {
			in.Geos = append(in.Geos, r)
		}
		if r, err := c.User(u); err == nil {
			in.Users = append(in.Users, r)
		}
	}
	tbls, err := InsightTables(insights.Compute(in), nil)
	if err != nil {
		b.Fatal(err)
	}
	q := c.Quality()
	rep := Batch{Namespace: "bench", Date: "2026-11-30", RunID: "r30", Insights: tbls, Quality: q, Totals: q}
	for _, t := range tbls {
		h := Table{Name: t.Name, Columns: append(append([]Column(nil), t.Columns...), Column{Name: DateColumn})}
		for d := range 30 {
			for _, row := range t.Rows {
				h.Rows = append(h.Rows, append(append([]Cell(nil), row...), Str(fmt.Sprintf("2026-11-%02d", d+1))))
			}
		}
		rep.InsightHistory = append(rep.InsightHistory, h)
	}
	for d := range 30 {
		rep.Runs = append(rep.Runs, Run{Date: fmt.Sprintf("2026-11-%02d", d+1), RunID: fmt.Sprint("r", d+1), Quality: q})
	}
	return rep
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func BenchmarkWriteBatch(b *testing.B) {
	rep := benchBatch(b)
	rows := 0
	for _, t := range rep.Insights {
		rows += len(t.Rows)
	}
	var size countingWriter
	if err := WriteBatch(&size, rep); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := WriteBatch(io.Discard, rep); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows), "insight-rows")
	b.ReportMetric(float64(size.n)/1e6, "MB")
}
