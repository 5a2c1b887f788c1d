package batch

import (
	"encoding/json"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// QualityReport is the content of quality.json. Counts and quality are
// deterministic; Run holds what differs from run to run.
type QualityReport struct {
	Date        string                 `json:"date"`
	Input       string                 `json:"input"`
	Prefix      string                 `json:"prefix"`
	Counts      map[clean.Table]Counts `json:"counts"`
	EmptyTopics []string               `json:"empty_topics"`
	// Full: the run read everything landed and rebuilt the state.
	Full bool `json:"full"`
	// Quality counts the lines the run read; Totals those of every run
	// since the last full one, this one included.
	Quality clean.Quality `json:"quality"`
	Totals  clean.Quality `json:"totals"`
	Gaps    []Gap         `json:"gaps,omitempty"`
	Run     RunInfo       `json:"run,omitzero"`
}

// RunInfo is the part of quality.json that differs from run to run.
type RunInfo struct {
	ID      string  `json:"id"`
	Timings Timings `json:"timings"`
}

// qualityReport is the report of res without its run section (the part
// that is the same for every run of the same input).
// RunQuality is what SummaryQuality holds: whether the run was a full one
// and the counts of the lines it read (a QualityReport's fields of those
// names, so either decodes it).
type RunQuality struct {
	Full    bool          `json:"full"`
	Quality clean.Quality `json:"quality"`
}

func qualityReport(res Result) QualityReport {
	rep := QualityReport{
		Date:        res.Date,
		Input:       res.Input,
		Prefix:      res.Prefix,
		Counts:      res.Counts,
		EmptyTopics: res.EmptyTopics,
		Full:        res.Full,
		Quality:     res.Quality,
		Totals:      res.Totals,
		Gaps:        res.Gaps,
	}
	if rep.EmptyTopics == nil {
		rep.EmptyTopics = []string{}
	}
	return rep
}

func encodeQuality(res Result) ([]byte, error) {
	rep := qualityReport(res)
	rep.Run = RunInfo{ID: res.RunID, Timings: res.Timings}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
