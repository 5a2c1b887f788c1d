package stream

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// RecentFlushes is how many decided flushes Status lists.
const RecentFlushes = 20

// Status is the live state of a Job: what its live page shows. Counts come
// from the job's metrics (what /metrics serves) and its running quality
// report (what /quality serves).
type Status struct {
	Time   time.Time `json:"time"`
	Health string    `json:"health"` // "ok", or why /healthz answers 503
	// Tables are the counts of this process per stream table, in the
	// order of clean.Tables.
	Tables []TableStatus `json:"tables"`
	// Shards are the shards being read, by stream and shard id, with
	// MillisBehindLatest of their last GetRecords.
	Shards []ShardStatus `json:"shards"`
	// Flushes are the last RecentFlushes decided flushes, newest first.
	Flushes []FlushStatus `json:"flushes"`
	Stats   Stats         `json:"stats"`
	// Quality is the running quality report (Job.QualityReport).
	Quality QualityReport `json:"quality"`
}

// TableStatus counts the records of one table's stream since the process
// started (the metrics of the same names).
type TableStatus struct {
	Table      string `json:"table"`
	Stream     string `json:"stream"`
	RecordsIn  int64  `json:"records_in"`  // records_in_total
	RecordsOut int64  `json:"records_out"` // records_out_total: rows committed
	Rejected   int64  `json:"rejected"`    // records_rejected_total: committed to stream_quarantine
	Blank      int64  `json:"blank"`       // records_blank_total
}

// ShardStatus is the lag of one shard (millis_behind_latest).
type ShardStatus struct {
	Stream       string `json:"stream"`
	Shard        string `json:"shard"`
	MillisBehind int64  `json:"millis_behind"`
}

// FlushStatus is one decided flush of a shard.
type FlushStatus struct {
	Time   time.Time `json:"time"` // when its commits were decided
	Table  string    `json:"table"`
	Stream string    `json:"stream"`
	Shard  string    `json:"shard"`
	// Rows and Rejected are the flush's rows for the table and for
	// stream_quarantine.
	Rows     int64 `json:"rows"`
	Rejected int64 `json:"rejected"`
	// Seconds is from the flush's cut to its commits being decided
	// (flush_seconds).
	Seconds float64 `json:"seconds"`
	// Outcome: "committed" (by this process), "already committed" (found
	// committed by another writer) or "reset" (another writer committed
	// the shard in another cut: read again).
	Outcome string `json:"outcome"`
}

// Flush outcomes.
const (
	OutcomeCommitted        = "committed"
	OutcomeAlreadyCommitted = "already committed"
	OutcomeReset            = "reset"
)

// flushLog keeps the last RecentFlushes flushes.
type flushLog struct {
	mu   sync.Mutex
	last []FlushStatus // oldest first
}

func (l *flushLog) add(f FlushStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.last) == RecentFlushes {
		l.last = slices.Delete(l.last, 0, 1)
	}
	l.last = append(l.last, f)
}

func (l *flushLog) recent() []FlushStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.last)
	slices.Reverse(out)
	return out
}

// Status returns the job's live state. It is safe for concurrent use.
func (j *Job) Status() Status {
	s := Status{Time: j.o.Now().UTC(), Health: "ok", Stats: j.Stats(), Quality: j.QualityReport(),
		Flushes: j.flushes.recent()}
	if err := j.Health(); err != nil {
		s.Health = err.Error()
	}
	if s.Flushes == nil {
		s.Flushes = []FlushStatus{}
	}
	m := j.o.Metrics
	in, out, rej, blank := byTable(m.RecordsIn), byTable(m.RecordsOut), byTable(m.Rejected), byTable(m.Blank)
	for _, t := range clean.Tables {
		stream, ok := j.o.Streams[t]
		if !ok {
			continue
		}
		k := string(t)
		s.Tables = append(s.Tables, TableStatus{Table: "stream_" + k, Stream: stream,
			RecordsIn: in[k], RecordsOut: out[k], Rejected: rej[k], Blank: blank[k]})
	}
	s.Shards = []ShardStatus{}
	for _, v := range values(m.MillisBehind) {
		s.Shards = append(s.Shards, ShardStatus{Stream: v.labels["stream"], Shard: v.labels["shard"], MillisBehind: int64(v.v)})
	}
	slices.SortFunc(s.Shards, func(a, b ShardStatus) int {
		if c := strings.Compare(a.Stream, b.Stream); c != 0 {
			return c
		}
		return strings.Compare(a.Shard, b.Shard)
	})
	return s
}

// series is one series of a metric vector: its labels and value.
type series struct {
	labels map[string]string
	v      float64
}

// values reads the series of a counter or gauge vector. It creates no
// series.
func values(c prometheus.Collector) []series {
	ch := make(chan prometheus.Metric)
	go func() { c.Collect(ch); close(ch) }()
	var out []series
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			continue
		}
		s := series{labels: map[string]string{}, v: d.GetCounter().GetValue()}
		if d.Gauge != nil {
			s.v = d.GetGauge().GetValue()
		}
		for _, l := range d.GetLabel() {
			s.labels[l.GetName()] = l.GetValue()
		}
		out = append(out, s)
	}
	return out
}

// byTable sums the series of a vector labelled by table.
func byTable(c prometheus.Collector) map[string]int64 {
	out := map[string]int64{}
	for _, s := range values(c) {
		out[s.labels["table"]] += int64(s.v)
	}
	return out
}
