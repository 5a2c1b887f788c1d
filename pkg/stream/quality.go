package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// Defaults of the quality report options.
const (
	DefaultQualityKey      = "_quality/stream.json"
	DefaultQualityInterval = 5 * time.Second
	// qualityFinalTimeout bounds the last report write after the final flushes.
	qualityFinalTimeout = time.Second
)

// QualityReport is the running quality report of the stream job
// (cleaning.md "Quality report"): the sum of the cumulative counts stored in
// every shard's checkpoint, closed shards included. It covers each
// committed record exactly once, across restarts and replays. Quality has
// the shape of the batch job's quality.json "quality" section; the stream
// job drops no duplicates (duplicates_dropped is 0), and rows_written counts
// the rows stored in Parquet.
type QualityReport struct {
	Updated time.Time              `json:"updated"` // when this report was made
	Streams map[clean.Table]string `json:"streams"` // the stream read for each table
	Shards  int                    `json:"shards"`  // shards whose checkpoints are summed
	Quality clean.Quality          `json:"quality"`
}

type shardKey struct{ stream, shard string }

// qualityState holds the committed cumulative quality of every shard of
// the job, as in its checkpoint.
type qualityState struct {
	mu      sync.Mutex
	streams map[clean.Table]string
	table   map[string]clean.Table // by stream
	shards  map[shardKey]*clean.TableQuality
	version uint64 // bumped by every change
	written uint64 // version of the last stored report
}

func newQualityState(streams map[clean.Table]string) *qualityState {
	q := &qualityState{streams: streams, table: map[string]clean.Table{}, shards: map[shardKey]*clean.TableQuality{}}
	for t, s := range streams {
		q.table[s] = t
	}
	return q
}

// set records the committed cumulative quality of a shard (nil: nothing
// counted yet). tq is not modified afterwards by its owner.
func (q *qualityState) set(stream, shard string, tq *clean.TableQuality) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shards[shardKey{stream, shard}] = tq
	q.version++
}

// report sums the shards' counts; it also returns the state's version.
func (q *qualityState) report() (QualityReport, uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	rep := QualityReport{Updated: time.Now().UTC(), Streams: q.streams, Shards: len(q.shards)}
	for k, tq := range q.shards {
		if tq != nil {
			rep.Quality.Table(q.table[k.stream]).Merge(*tq)
		}
	}
	rep.Quality.Normalize()
	return rep, q.version
}

func (q *qualityState) dirty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.version != q.written
}

func (q *qualityState) markWritten(v uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.written = max(q.written, v)
}

// QualityReport returns the running quality report: the counts of the
// records committed so far, by this run and the previous ones.
func (j *Job) QualityReport() QualityReport {
	rep, _ := j.qual.report()
	return rep
}

// writeQuality stores the report at Options.QualityKey of the output.
func (j *Job) writeQuality(ctx context.Context) error {
	rep, v := j.qual.report()
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the quality report: %w", err)
	}
	data = append(data, '\n')
	if err := j.o.Output.Put(ctx, j.o.QualityKey, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("writing the quality report %s: %w", j.o.Output.URL(j.o.QualityKey), err)
	}
	j.qual.markWritten(v)
	return nil
}

// qualityLoop stores the report every QualityInterval when it changed,
// until stop is closed.
func (j *Job) qualityLoop(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(j.o.QualityInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if !j.qual.dirty() {
				continue
			}
			if err := j.writeQuality(ctx); err != nil && ctx.Err() == nil {
				j.o.Logger.Warn("writing the quality report, will retry", "err", err)
			}
		}
	}
}

// flushQuality is the quality of the records of one flush: the counts of
// the flush's fresh Cleaner, with the rows stored.
func flushQuality(b batch, rows int) clean.TableQuality {
	q := b.quality()
	q.RowsWritten = int64(rows)
	return q
}

// addQuality returns a new cumulative quality: prev (may be nil) plus d.
func addQuality(prev *clean.TableQuality, d clean.TableQuality) *clean.TableQuality {
	var sum clean.TableQuality
	if prev != nil {
		sum.Merge(*prev)
	}
	sum.Merge(d)
	return &sum
}

// countNulls adds the nulls of a committed flush to the nulls_total metric.
func (m *Metrics) countNulls(table string, d clean.TableQuality) {
	for col, n := range d.Nulls {
		m.Nulls.WithLabelValues(table, col, "missing").Add(float64(n.Missing))
		m.Nulls.WithLabelValues(table, col, "placeholder").Add(float64(n.Placeholder))
		m.Nulls.WithLabelValues(table, col, "unparseable").Add(float64(n.Unparseable))
	}
}
