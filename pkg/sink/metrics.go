package sink

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the sink's counters, registered on a registry of the caller's.
// A nil *Metrics records nothing.
type Metrics struct {
	fetched   *prometheus.CounterVec
	records   *prometheus.CounterVec
	invalid   *prometheus.CounterVec
	objects   *prometheus.CounterVec
	bytes     *prometheus.CounterVec
	removedN  *prometheus.CounterVec
	replacedN *prometheus.CounterVec
	lag       *prometheus.GaugeVec
	owned     *prometheus.GaugeVec
	flushDur  prometheus.Histogram
}

// NewMetrics creates the sink's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		fetched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinpipe_s3sink_fetched_records_total", Help: "Records fetched from Kafka (a record fetched again after a rebalance or restart counts again).",
		}, []string{"topic"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinpipe_s3sink_records_total", Help: "Records landed: stored, and their offsets committed.",
		}, []string{"topic"}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinpipe_s3sink_invalid_json_records_total", Help: "Landed records (stored and committed) whose value is not valid JSON (landed as is).",
		}, []string{"topic"}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinpipe_s3sink_objects_total", Help: "Objects landed: stored, and their offsets committed.",
		}, []string{"topic"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinpipe_s3sink_bytes_total", Help: "Bytes of the landed objects (after compression).",
		}, []string{"topic"}),
		removedN: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinpipe_s3sink_uncommitted_removed_total", Help: "Objects a previous owner of a partition stored without committing them, removed when the partition was assigned.",
		}, []string{"topic"}),
		replacedN: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinpipe_s3sink_uncommitted_replaced_total", Help: "Uncommitted objects with other content found at the key of an object being stored, and replaced.",
		}, []string{"topic"}),
		owned: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pinpipe_s3sink_partitions_landing", Help: "Partitions this instance owns and lands now (past the clean-up of their uncommitted objects).",
		}, []string{"topic"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pinpipe_s3sink_lag_records", Help: "Records behind the partition's high watermark at the last fetch.",
		}, []string{"topic", "partition"}),
		flushDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pinpipe_s3sink_flush_seconds", Help: "Time from cutting an object to committing its offset: storing it (with retries) and the commit.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	reg.MustRegister(m.fetched, m.records, m.invalid, m.objects, m.bytes, m.removedN, m.replacedN, m.owned, m.lag, m.flushDur)
	return m
}

func (m *Metrics) observe(topic string, partition int, lag int64) {
	if m == nil {
		return
	}
	m.fetched.WithLabelValues(topic).Inc()
	m.lag.WithLabelValues(topic, strconv.Itoa(partition)).Set(float64(max(lag, 0)))
}

// landed counts an object whose offset is committed; d is the time from
// its cut to the commit.
func (m *Metrics) landed(topic string, records, invalid, bytes int, d time.Duration) {
	if m == nil {
		return
	}
	m.records.WithLabelValues(topic).Add(float64(records))
	m.invalid.WithLabelValues(topic).Add(float64(invalid))
	m.objects.WithLabelValues(topic).Inc()
	m.bytes.WithLabelValues(topic).Add(float64(bytes))
	m.flushDur.Observe(d.Seconds())
}

func (m *Metrics) removed(topic string) {
	if m != nil {
		m.removedN.WithLabelValues(topic).Inc()
	}
}

func (m *Metrics) replaced(topic string) {
	if m != nil {
		m.replacedN.WithLabelValues(topic).Inc()
	}
}

// landing counts a partition this instance lands from now on (+1) or no
// longer (-1).
func (m *Metrics) landing(topic string, delta float64) {
	if m != nil {
		m.owned.WithLabelValues(topic).Add(delta)
	}
}
