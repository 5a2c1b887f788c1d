// Package gateway is the HTTP ingest gateway: it serves the HTTP APIs the
// original's producers post to (data.md §4) in front of real brokers,
//
//	POST   {prefix}/topics/{topic}            Kafka REST Proxy v2 produce (JSON and binary embedded formats)
//	GET    {prefix}/streams                   ListStreams
//	GET    {prefix}/streams/{stream}          DescribeStream
//	POST   {prefix}/streams/{stream}          CreateStream {"ShardCount": n}
//	DELETE {prefix}/streams/{stream}          DeleteStream
//	PUT    {prefix}/streams/{stream}/record   PutRecord {"StreamName","Data","PartitionKey"}
//	PUT    {prefix}/streams/{stream}/records  PutRecords {"records":[{"data","partition-key"}]}
//
// with the request and answer shapes of shapes.go. A 200 answer to a produce
// or put request is sent only after the backend acknowledged the records
// (Kafka acks=all, a Kinesis sequence number); records a 200 reports failed
// were not stored.
package gateway

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Gateway.
type Config struct {
	// PathPrefix is an API Gateway stage such as "/prod" that every path
	// starts with. Default: none.
	PathPrefix string
	// APIKey, when set, must be in every request's x-api-key header;
	// other requests get 403.
	APIKey string
	// MaxBodyBytes bounds a request body; a larger one gets 413.
	// Default: 10 MiB (API Gateway's payload limit).
	MaxBodyBytes int64
	// MaxRecordBytes bounds one record (key and value; Kinesis: data and
	// partition key); a larger one gets 422 (REST Proxy) or 400.
	// Default: 1 MiB (Kinesis' limit and Kafka's default message.max.bytes).
	MaxRecordBytes int
	// Kafka backs the REST Proxy resources; nil answers them with 404.
	Kafka *Kafka
	// Kinesis backs the stream resources; nil answers them with 404.
	Kinesis KinesisAPI
	// KinesisLinger is how long a PutRecord request waits for others to the
	// same stream to share one PutRecords call (each still gets its own
	// record's sequence number, or its own error). Default: 1ms.
	KinesisLinger time.Duration
	// UnhealthyAfter is how long a backend may fail every call before
	// Health reports it. Default: 30s.
	UnhealthyAfter time.Duration
	// Metrics, when set, counts requests and records.
	Metrics *Metrics
	// Logger gets one line per failing backend call. Default: silent.
	Logger *slog.Logger
}

// Validate reports a bad option.
func (c Config) Validate() error {
	if err := CheckPathPrefix(c.PathPrefix); err != nil {
		return err
	}
	if c.MaxBodyBytes < 0 || c.MaxRecordBytes < 0 || c.UnhealthyAfter < 0 || c.KinesisLinger < 0 {
		return errors.New("gateway: negative limit")
	}
	if c.Kafka == nil && c.Kinesis == nil {
		return errors.New("gateway: neither Kafka nor Kinesis configured")
	}
	return nil
}

// CheckPathPrefix reports a path prefix other than "" or "/stage".
func CheckPathPrefix(p string) error {
	if p != "" && (!strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/")) {
		return fmt.Errorf("path prefix %q: want /stage, starting with / and not ending with /", p)
	}
	return nil
}

// Gateway is the http.Handler of the ingest API.
type Gateway struct {
	cfg      Config
	batcher  *putBatcher // the PutRecord requests to Kinesis
	draining atomic.Bool
	kafkaH   backendHealth
	kinesisH backendHealth
}

// New returns a Gateway; it does no I/O.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 10 << 20
	}
	if cfg.MaxRecordBytes == 0 {
		cfg.MaxRecordBytes = 1 << 20
	}
	if cfg.UnhealthyAfter == 0 {
		cfg.UnhealthyAfter = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.KinesisLinger == 0 {
		cfg.KinesisLinger = time.Millisecond
	}
	return &Gateway{cfg: cfg, batcher: newPutBatcher(cfg.Kinesis, cfg.KinesisLinger)}, nil
}

// Health is nil while the gateway takes requests: not draining, and no
// backend has failed every call for UnhealthyAfter.
func (g *Gateway) Health() error {
	if g.draining.Load() {
		return errors.New("draining: answering the requests in flight, taking no new ones")
	}
	return errors.Join(g.kafkaH.check("kafka", g.cfg.UnhealthyAfter), g.kinesisH.check("kinesis", g.cfg.UnhealthyAfter))
}

// backendHealth remembers since when every call to a backend has failed.
type backendHealth struct {
	mu           sync.Mutex
	failingSince time.Time
	last         error
}

func (h *backendHealth) observe(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.failingSince, h.last = time.Time{}, nil
		return
	}
	if h.failingSince.IsZero() {
		h.failingSince = time.Now()
	}
	h.last = err
}

func (h *backendHealth) check(name string, after time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failingSince.IsZero() || time.Since(h.failingSince) < after {
		return nil
	}
	return fmt.Errorf("%s: every call failing since %s: %v", name, h.failingSince.UTC().Format(time.RFC3339), h.last)
}

// ServeHTTP routes a request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w}
	route := g.serve(rw, r)
	if m := g.cfg.Metrics; m != nil {
		m.requests.WithLabelValues(route, strconv.Itoa(rw.status())).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) string {
	if m := g.cfg.Metrics; m != nil {
		m.inFlight.Inc()
		defer m.inFlight.Dec()
	}
	path, ok := strings.CutPrefix(r.URL.Path, g.cfg.PathPrefix)
	if !ok || (path != "" && path[0] != '/') {
		writeJSON(w, http.StatusNotFound, KinesisError{Type: "NotFound", Message: fmt.Sprintf("no resource %s (paths start with %s/)", r.URL.Path, g.cfg.PathPrefix)})
		return routeOther
	}
	if g.cfg.APIKey != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("x-api-key")), []byte(g.cfg.APIKey)) != 1 {
		writeJSON(w, http.StatusForbidden, KinesisError{Type: "Forbidden", Message: "Forbidden: missing or wrong x-api-key header"})
		return routeOther
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "topics" && parts[1] != "":
		if g.cfg.Kafka == nil {
			writeProxyError(w, http.StatusNotFound, ProxyError{ErrorCode: 404, Message: "this gateway has no Kafka backend"})
			return routeProduce
		}
		if r.Method != http.MethodPost {
			writeProxyError(w, http.StatusMethodNotAllowed, ProxyError{ErrorCode: 405, Message: fmt.Sprintf("%s %s: want POST", r.Method, r.URL.Path)})
			return routeProduce
		}
		g.produce(w, r, parts[1])
		return routeProduce
	case len(parts) >= 1 && parts[0] == "streams":
		return g.streams(w, r, parts[1:])
	}
	writeJSON(w, http.StatusNotFound, KinesisError{Type: "NotFound", Message: fmt.Sprintf("no resource %s %s (want POST %[3]s/topics/{topic} or %[3]s/streams/...)", r.Method, r.URL.Path, g.cfg.PathPrefix)})
	return routeOther
}

// readBody reads the request body up to MaxBodyBytes. tooLarge reports an
// over-long body.
func (g *Gateway) readBody(w http.ResponseWriter, r *http.Request, route string) (body []byte, tooLarge bool, err error) {
	if r.ContentLength > g.cfg.MaxBodyBytes {
		return nil, true, fmt.Errorf("request body of %d bytes: the limit is %d", r.ContentLength, g.cfg.MaxBodyBytes)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1) // one read to EOF, no regrowth
	}
	_, err = buf.ReadFrom(http.MaxBytesReader(w, r.Body, g.cfg.MaxBodyBytes))
	body = buf.Bytes()
	if m := g.cfg.Metrics; m != nil {
		m.bytes.WithLabelValues(route).Add(float64(len(body)))
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, true, fmt.Errorf("request body over the limit of %d bytes", g.cfg.MaxBodyBytes)
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the request body: %w", err)
	}
	return body, false, nil
}

// mediaType returns the media type of a Content-Type header, lowercased,
// without parameters.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, status, "application/json", v)
}

func writeJSONType(w http.ResponseWriter, status int, ctype string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"message":"encoding the answer"}`)
	}
	w.Header().Set("Content-Type", ctype)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func writeProxyError(w http.ResponseWriter, status int, e ProxyError) {
	writeJSONType(w, status, ContentTypeAnswer, e)
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// Serve answers requests on ln (over TLS when tlsCfg is set) until ctx is
// done, then drains: Health turns 503, the listener closes, idle
// connections close, and every request in flight is answered (after its
// records are stored or have failed) before Serve returns, or until drain
// has passed.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener, tlsCfg *tls.Config, drain time.Duration) error {
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(g.cfg.Logger.Handler(), slog.LevelDebug),
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	g.draining.Store(true)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	err := srv.Shutdown(dctx)
	if err != nil {
		err = fmt.Errorf("draining: %w (requests still in flight after %s)", err, drain)
		_ = srv.Close()
	}
	if err2 := <-errc; err2 != nil && !errors.Is(err2, http.ErrServerClosed) {
		err = errors.Join(err, err2)
	}
	return err
}
