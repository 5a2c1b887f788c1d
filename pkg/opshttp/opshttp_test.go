package opshttp

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestServe(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})
	reg.MustRegister(c)
	c.Add(3)
	var bad atomic.Bool
	srv, err := Serve("127.0.0.1:0", reg, func() error {
		if bad.Load() {
			return errors.New("storing has failed\nfor 61s")
		}
		return nil
	}, map[string]http.Handler{"/quality": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "{}") })})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + srv.Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "x_total 3") {
		t.Errorf("/metrics: %d %q", code, body)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz healthy: %d %q", code, body)
	}
	bad.Store(true)
	if code, body := get("/healthz"); code != 503 || body != "storing has failed for 61s\n" {
		t.Errorf("/healthz unhealthy: %d %q", code, body)
	}
	if code, body := get("/quality"); code != 200 || body != "{}" {
		t.Errorf("/quality: %d %q", code, body)
	}
}
