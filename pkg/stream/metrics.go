package stream

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus metrics of a Job.
type Metrics struct {
	RecordsIn      *prometheus.CounterVec // table
	RecordsOut     *prometheus.CounterVec // table
	Rejected       *prometheus.CounterVec // table
	Blank          *prometheus.CounterVec // table
	MillisBehind   *prometheus.GaugeVec   // stream, shard
	FlushSeconds   prometheus.Histogram   //
	FilesWritten   *prometheus.CounterVec // kind: data, quarantine, checkpoint
	Throttled      *prometheus.CounterVec // stream
	ExpiredIters   *prometheus.CounterVec // stream
	Errors         *prometheus.CounterVec // stream: retried errors
	ShardsReading  *prometheus.GaugeVec   // stream
	ShardsFinished *prometheus.CounterVec // stream
	Nulls          *prometheus.CounterVec // table, column, cause: nulls of committed rows
	all            []prometheus.Collector
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	const ns = "pinpipe_stream"
	m := &Metrics{
		RecordsIn:      prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "records_in_total", Help: "Kinesis records consumed (replays after a restart count again)."}, []string{"table"}),
		RecordsOut:     prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "records_out_total", Help: "Clean rows written to Parquet and checkpointed."}, []string{"table"}),
		Rejected:       prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "records_rejected_total", Help: "Records written to quarantine and checkpointed."}, []string{"table"}),
		Blank:          prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "records_blank_total", Help: "Blank records skipped."}, []string{"table"}),
		MillisBehind:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "millis_behind_latest", Help: "MillisBehindLatest of the last GetRecords of a shard."}, []string{"stream", "shard"}),
		FlushSeconds:   prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "flush_seconds", Help: "Time to store the files and checkpoints of one flush.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		FilesWritten:   prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "files_written_total", Help: "Objects written, by kind."}, []string{"kind"}),
		Throttled:      prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "throttled_total", Help: "Throttling answers from Kinesis."}, []string{"stream"}),
		ExpiredIters:   prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "expired_iterators_total", Help: "Shard iterators renewed after expiring."}, []string{"stream"}),
		Errors:         prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "retried_errors_total", Help: "Transient errors retried."}, []string{"stream"}),
		ShardsReading:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "shards_reading", Help: "Shards being read."}, []string{"stream"}),
		ShardsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "shards_finished_total", Help: "Closed shards read to their end by this process."}, []string{"stream"}),
		Nulls:          prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "nulls_total", Help: "Nulls produced in the rows committed by this process, by column and cause (missing, placeholder, unparseable)."}, []string{"table", "column", "cause"}),
	}
	m.all = []prometheus.Collector{m.RecordsIn, m.RecordsOut, m.Rejected, m.Blank, m.MillisBehind, m.FlushSeconds, m.FilesWritten, m.Throttled, m.ExpiredIters, m.Errors, m.ShardsReading, m.ShardsFinished, m.Nulls}
	if reg != nil {
		for _, c := range m.all {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
