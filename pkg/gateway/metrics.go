package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the gateway's Prometheus metrics.
type Metrics struct {
	requests *prometheus.CounterVec   // route, code
	latency  *prometheus.HistogramVec // route
	records  *prometheus.CounterVec   // backend, result
	bytes    *prometheus.CounterVec   // route
	inFlight prometheus.Gauge
}

// NewMetrics registers the gateway's metrics in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinpipe_gateway_requests_total",
			Help: "HTTP requests answered, by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pinpipe_gateway_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer (for produce and put requests: until the backend acknowledged), by route.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5, 10},
		}, []string{"route"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinpipe_gateway_records_total",
			Help: "Records of produce and put requests handed to a backend (kafka, kinesis), by result: stored (acknowledged by the backend) or failed (answered as not stored). Requests refused before (bad request, unknown topic) count no records.",
		}, []string{"backend", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinpipe_gateway_request_bytes_total",
			Help: "Bytes of request bodies read, by route.",
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pinpipe_gateway_requests_in_flight",
			Help: "Requests being handled now.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.records, m.bytes, m.inFlight)
	return m
}

// Routes, the values of the route label.
const (
	routeProduce     = "produce"      // POST /topics/{topic}
	routePutRecord   = "put_record"   // PUT /streams/{stream}/record
	routePutRecords  = "put_records"  // PUT /streams/{stream}/records
	routeListStreams = "list_streams" // GET /streams
	routeStream      = "stream"       // GET, POST, DELETE /streams/{stream}
	routeOther       = "other"        // anything else (404, 403, ...)
)

func (m *Metrics) stored(backend string, ok, failed int) {
	if m == nil {
		return
	}
	if ok > 0 {
		m.records.WithLabelValues(backend, "stored").Add(float64(ok))
	}
	if failed > 0 {
		m.records.WithLabelValues(backend, "failed").Add(float64(failed))
	}
}
