package stream

import (
	"sync"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// QualityReport is the running quality report of the stream job
// (cleaning.md "Quality report"): the cumulative counts each stream table
// holds in its properties, committed with its data, so it covers every
// committed record exactly once, across restarts, replays and instances.
// Quality has the shape of the batch job's quality.json "quality" section;
// the stream job drops no duplicates (duplicates_dropped is 0), and
// rows_written counts the rows committed.
type QualityReport struct {
	Updated time.Time              `json:"updated"` // when this report was made
	Streams map[clean.Table]string `json:"streams"` // the stream read for each table
	Quality clean.Quality          `json:"quality"`
}

// qualityState holds the committed cumulative quality of every stream
// table, as last loaded or committed by this process.
type qualityState struct {
	mu      sync.Mutex
	streams map[clean.Table]string
	tables  map[string]clean.TableQuality // by table name: stream_pin, ...
}

func newQualityState(streams map[clean.Table]string) *qualityState {
	return &qualityState{streams: streams, tables: map[string]clean.TableQuality{}}
}

// set records the cumulative quality of a table. q is not modified
// afterwards by its owner.
func (q *qualityState) set(table string, tq clean.TableQuality) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tables[table] = tq
}

func (q *qualityState) report() QualityReport {
	q.mu.Lock()
	defer q.mu.Unlock()
	rep := QualityReport{Updated: time.Now().UTC(), Streams: q.streams}
	for _, t := range clean.Tables {
		if tq, ok := q.tables["stream_"+string(t)]; ok {
			rep.Quality.Table(t).Merge(tq)
		}
	}
	rep.Quality.Normalize()
	return rep
}

// QualityReport returns the running quality report: the counts of the
// records committed so far, by this run and the previous ones (and by other
// instances, as of this process's last commit or load of each table).
func (j *Job) QualityReport() QualityReport { return j.qual.report() }

// countNulls adds the nulls of a committed flush to the nulls_total metric.
func (m *Metrics) countNulls(table string, d clean.TableQuality) {
	for col, n := range d.Nulls {
		m.Nulls.WithLabelValues(table, col, "missing").Add(float64(n.Missing))
		m.Nulls.WithLabelValues(table, col, "placeholder").Add(float64(n.Placeholder))
		m.Nulls.WithLabelValues(table, col, "unparseable").Add(float64(n.Unparseable))
	}
}
