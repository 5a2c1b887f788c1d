package batch

import (
	"encoding/json"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// addQuality adds sign*q to dst (sign is 1 or -1).
func addQuality(dst *clean.Quality, q clean.Quality, sign int64) {
	for _, t := range clean.Tables {
		addTable(dst.Table(t), *q.Table(t), sign)
	}
}

func addTable(dst *clean.TableQuality, q clean.TableQuality, sign int64) {
	dst.RowsRead += sign * q.RowsRead
	dst.BlankLines += sign * q.BlankLines
	dst.Duplicates += sign * q.Duplicates
	dst.RowsWritten += sign * q.RowsWritten
	if len(q.Rejected) > 0 && dst.Rejected == nil {
		dst.Rejected = make(map[clean.Reason]int64)
	}
	for r, n := range q.Rejected {
		dst.Rejected[r] += sign * n
	}
	if len(q.Nulls) > 0 && dst.Nulls == nil {
		dst.Nulls = make(map[string]clean.ColumnNulls)
	}
	for col, n := range q.Nulls {
		d := dst.Nulls[col]
		d.Missing += sign * n.Missing
		d.Placeholder += sign * n.Placeholder
		d.Unparseable += sign * n.Unparseable
		dst.Nulls[col] = d
	}
}

// normalizeQuality makes the report independent of how the counts were
// summed: rejected reasons with a zero count are dropped, and every nullable
// column has an entry, zero or not.
func normalizeQuality(q *clean.Quality) {
	for _, t := range clean.Tables {
		tq := q.Table(t)
		if tq.Rejected == nil {
			tq.Rejected = make(map[clean.Reason]int64)
		}
		for r, n := range tq.Rejected {
			if n == 0 {
				delete(tq.Rejected, r)
			}
		}
		if tq.Nulls == nil {
			tq.Nulls = make(map[string]clean.ColumnNulls)
		}
		for _, col := range clean.Columns(t) {
			if col == "ind" || (t == clean.TablePin && col == "unique_id") {
				continue
			}
			if _, ok := tq.Nulls[col]; !ok {
				tq.Nulls[col] = clean.ColumnNulls{} // every nullable column is listed, zero or not
			}
		}
	}
}

// QualityReport is the content of quality.json. Counts and quality are
// deterministic; Run holds what differs from run to run.
type QualityReport struct {
	Date        string                 `json:"date"`
	Input       string                 `json:"input"`
	Prefix      string                 `json:"prefix"`
	Counts      map[clean.Table]Counts `json:"counts"`
	EmptyTopics []string               `json:"empty_topics"`
	Quality     clean.Quality          `json:"quality"`
	Run         RunInfo                `json:"run"`
}

// RunInfo is the part of quality.json that differs from run to run.
type RunInfo struct {
	ID      string  `json:"id"`
	Timings Timings `json:"timings"`
}

func encodeQuality(res Result) ([]byte, error) {
	rep := QualityReport{
		Date:        res.Date,
		Input:       res.Input,
		Prefix:      res.Prefix,
		Counts:      res.Counts,
		EmptyTopics: res.EmptyTopics,
		Quality:     res.Quality,
		Run:         RunInfo{ID: res.RunID, Timings: res.Timings},
	}
	if rep.EmptyTopics == nil {
		rep.EmptyTopics = []string{}
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
