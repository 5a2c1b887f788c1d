package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
)

// smallTable is the most rows of an insight table printed in full; larger
// tables show their first rows.
const smallTable = 20

// writeSummary prints the human summary: input counts, each insight table
// and the quality counts.
func writeSummary(w io.Writer, res batch.Result) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "published %s (run %s, %.1fs)\n", res.Published, res.RunID, float64(res.Timings.TotalMS)/1000)
	mode := "new since the last run"
	if res.Full {
		mode = "everything landed: the state rebuilt"
	}
	fmt.Fprintf(ew, "read %d objects, %d lines (%s)\n", res.Objects(), res.Lines(), mode)
	for _, t := range clean.Tables {
		c := res.Counts[t]
		fmt.Fprintf(ew, "  %-24s %8d objects %12d bytes %10d lines", landing.Topic(res.Prefix, t), c.Objects, c.Bytes, c.Lines)
		if c.SkippedObjects > 0 {
			fmt.Fprintf(ew, " (%d objects skipped: not in the landing layout)", c.SkippedObjects)
		}
		fmt.Fprintln(ew)
	}
	if len(res.EmptyTopics) > 0 {
		fmt.Fprintf(ew, "no objects for %s: their tables are empty\n", strings.Join(res.EmptyTopics, ", "))
	}
	for _, g := range res.Gaps {
		fmt.Fprintf(ew, "not landed yet: %s (later objects were read; the next runs read these when they land)\n", g)
	}

	recs, err := res.Insights.Records(nil)
	if err != nil {
		return err
	}
	defer func() {
		for _, r := range recs {
			r.Record.Release()
		}
	}()
	for _, r := range recs {
		n := int(r.Record.NumRows())
		fmt.Fprintf(ew, "\n%s (%d rows)\n", r.Name, n)
		printRecord(ew, r.Record, min(n, smallTable))
		if n > smallTable {
			fmt.Fprintf(ew, "  ... %d more rows\n", n-smallTable)
		}
	}

	fmt.Fprintln(ew, "\nquality of the lines this run read (and running totals since the last full run)")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows read\tblank\trejected\tduplicates\trows in the table\tnulls\t")
	for _, t := range clean.Tables {
		q, tot := res.Quality.Table(t), res.Totals.Table(t)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", t, q.RowsRead, q.BlankLines, rejected(q), q.Duplicates, q.RowsWritten, nulls(q))
		fmt.Fprintf(tw, "  total\t%d\t%d\t%d\t%d\t\t%d\t\n", tot.RowsRead, tot.BlankLines, rejected(tot), tot.Duplicates, nulls(tot))
	}
	tw.Flush()
	for _, t := range clean.Tables {
		q := res.Quality.Table(t)
		reasons := make([]string, 0, len(q.Rejected))
		for r := range q.Rejected {
			reasons = append(reasons, string(r))
		}
		slices.Sort(reasons)
		for _, r := range reasons {
			fmt.Fprintf(ew, "  %s rejected %s: %d\n", t, r, q.Rejected[clean.Reason(r)])
		}
		for _, k := range slices.Sorted(maps.Keys(q.UnknownKeys)) {
			fmt.Fprintf(ew, "  %s records with the unknown key %q: %d\n", t, k, q.UnknownKeys[k])
		}
	}
	return ew.err
}

func rejected(q *clean.TableQuality) int64 {
	var n int64
	for _, c := range q.Rejected {
		n += c
	}
	return n
}

func nulls(q *clean.TableQuality) int64 {
	var n int64
	for _, c := range q.Nulls {
		n += c.Total()
	}
	return n
}

// printRecord prints the first n rows of rec as an aligned table.
func printRecord(w io.Writer, rec arrow.RecordBatch, n int) {
	if n == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	cols := make([]string, rec.NumCols())
	for i := range cols {
		cols[i] = rec.ColumnName(i)
	}
	fmt.Fprintln(tw, "  "+strings.Join(cols, "\t"))
	for row := range n {
		for i := range cols {
			cols[i] = rec.Column(i).ValueStr(row)
		}
		fmt.Fprintln(tw, "  "+strings.Join(cols, "\t"))
	}
	tw.Flush()
}

// jsonSummary is the --json output.
type jsonSummary struct {
	batch.Result
	Lines    int64                  `json:"lines"`
	Objects  int64                  `json:"objects"`
	Insights map[string]jsonInsight `json:"insights"`
	Order    []string               `json:"insight_tables"`
	Ok       bool                   `json:"ok"`
}

type jsonInsight struct {
	Rows    int64            `json:"rows"`
	Columns []string         `json:"columns"`
	Data    []map[string]any `json:"data"` // every row
}

// writeJSON prints the machine-readable summary: the result, and every
// insight table in full.
func writeJSON(w io.Writer, res batch.Result) error {
	recs, err := res.Insights.Records(nil)
	if err != nil {
		return err
	}
	defer func() {
		for _, r := range recs {
			r.Record.Release()
		}
	}()
	out := jsonSummary{Result: res, Lines: res.Lines(), Objects: res.Objects(), Insights: map[string]jsonInsight{}, Ok: true}
	for _, r := range recs {
		rec := r.Record
		ji := jsonInsight{Rows: rec.NumRows(), Data: []map[string]any{}}
		for i := range int(rec.NumCols()) {
			ji.Columns = append(ji.Columns, rec.ColumnName(i))
		}
		for row := range int(rec.NumRows()) {
			m := make(map[string]any, len(ji.Columns))
			for i, name := range ji.Columns {
				m[name] = rec.Column(i).GetOneForMarshal(row)
			}
			ji.Data = append(ji.Data, m)
		}
		out.Insights[r.Name] = ji
		out.Order = append(out.Order, r.Name)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
