// Package opshttp serves the operational endpoints of the long-running
// binaries (s3sink, streamjob): /metrics in the Prometheus text format and
// /healthz for liveness and readiness probes, plus any extra handlers.
package opshttp

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Serve listens on addr and serves reg at /metrics, health at /healthz (200
// "ok" while health returns nil, else 503 with the reason on one line) and
// the extra handlers by path, until the returned server is closed. The
// server's Addr is the address it listens on (addr may have port 0).
func Serve(addr string, reg *prometheus.Registry, health func() error, extra map[string]http.Handler) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics address %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { writeHealth(w, health()) })
	for path, h := range extra {
		mux.Handle(path, h)
	}
	srv := &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

func writeHealth(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, strings.ReplaceAll(err.Error(), "\n", " ")+"\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// JSON serves what value returns, as indented JSON, made afresh for each
// request (a status or report page's data).
func JSON(value func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(value())
	})
}
