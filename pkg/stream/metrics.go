package stream

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metrics are the Prometheus metrics of a Job.
type Metrics struct {
	RecordsIn      *prometheus.CounterVec   // table
	RecordsOut     *prometheus.CounterVec   // table
	Rejected       *prometheus.CounterVec   // table
	Blank          *prometheus.CounterVec   // table
	MillisBehind   *prometheus.GaugeVec     // stream, shard
	FlushSeconds   prometheus.Histogram     //
	FilesWritten   *prometheus.CounterVec   // kind: data, quarantine, checkpoint
	Throttled      *prometheus.CounterVec   // stream
	ExpiredIters   *prometheus.CounterVec   // stream
	Errors         *prometheus.CounterVec   // stream: retried errors
	ShardsReading  *prometheus.GaugeVec     // stream
	ShardsFinished *prometheus.CounterVec   // stream
	Nulls          *prometheus.CounterVec   // table, column, cause: nulls of committed rows
	CommitSeconds  *prometheus.HistogramVec // table: one catalog commit
	CommitFailures *prometheus.CounterVec   // table: commits refused (a conflict) or failed
	Dropped        *prometheus.CounterVec   // table: flushes found committed by another writer
	Resets         *prometheus.CounterVec   // table: flushes dropped because another writer moved the shard's position
	all            []prometheus.Collector
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	const ns = "pinpipe_stream"
	m := &Metrics{
		RecordsIn:      prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "records_in_total", Help: "Records consumed: user records, each of a KPL-aggregated Kinesis record counted once, and one for an aggregated record rejected whole (replays after a restart count again)."}, []string{"table"}),
		RecordsOut:     prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "records_out_total", Help: "Clean rows committed to the stream tables by this process."}, []string{"table"}),
		Rejected:       prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "records_rejected_total", Help: "Rejected records (user records, or aggregated records rejected whole) committed to stream_quarantine by this process."}, []string{"table"}),
		Blank:          prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "records_blank_total", Help: "Blank records (user records) skipped."}, []string{"table"}),
		MillisBehind:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "millis_behind_latest", Help: "MillisBehindLatest of the last GetRecords of a shard."}, []string{"stream", "shard"}),
		FlushSeconds:   prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "flush_seconds", Help: "Time from a shard's flush being cut to its commits being decided: writing its files, waiting for the committers, committing.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		FilesWritten:   prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "files_written_total", Help: "Data files written (committed or not), by kind: data, quarantine."}, []string{"kind"}),
		Throttled:      prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "throttled_total", Help: "Throttling answers from Kinesis."}, []string{"stream"}),
		ExpiredIters:   prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "expired_iterators_total", Help: "Shard iterators renewed after expiring."}, []string{"stream"}),
		Errors:         prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "retried_errors_total", Help: "Transient errors retried."}, []string{"stream"}),
		ShardsReading:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "shards_reading", Help: "Shards being read."}, []string{"stream"}),
		ShardsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "shards_finished_total", Help: "Closed shards read to their end by this process."}, []string{"stream"}),
		Nulls:          prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "nulls_total", Help: "Nulls produced in the rows committed by this process, by column and cause (missing, placeholder, unparseable)."}, []string{"table", "column", "cause"}),
		CommitSeconds:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "commit_seconds", Help: "Time of one successful catalog commit of a table (all the flushes batched in it).", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"table"}),
		CommitFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "commit_failures_total", Help: "Catalog commits that failed (another writer committed first, or the catalog could not be reached); they are decided again from the reloaded table."}, []string{"table"}),
		Dropped:        prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "flushes_already_committed_total", Help: "Flushes found committed by another writer (or by a commit whose answer was lost), and dropped as done."}, []string{"table"}),
		Resets:         prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "flushes_reset_total", Help: "Flushes dropped because another writer committed the shard in another cut; the shard is read again from the committed position."}, []string{"table"}),
	}
	m.all = []prometheus.Collector{m.RecordsIn, m.RecordsOut, m.Rejected, m.Blank, m.MillisBehind, m.FlushSeconds, m.FilesWritten, m.Throttled, m.ExpiredIters, m.Errors, m.ShardsReading, m.ShardsFinished, m.Nulls,
		m.CommitSeconds, m.CommitFailures, m.Dropped, m.Resets}
	if reg != nil {
		for _, c := range m.all {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// files is the number of data files written.
func (m *Metrics) files() float64 {
	var total float64
	for _, kind := range []string{"data", "quarantine"} {
		var d dto.Metric
		if err := m.FilesWritten.WithLabelValues(kind).Write(&d); err == nil {
			total += d.GetCounter().GetValue()
		}
	}
	return total
}
