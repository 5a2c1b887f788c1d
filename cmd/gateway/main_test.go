package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/kafkatest"
	"github.com/pinpipe/pinpipe/pkg/gateway"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{nil, "nothing to serve"},
		{[]string{"--brokers", "localhost"}, "want host:port"},
		{[]string{"--brokers", "h:1", "--listen", "8082"}, "--listen \"8082\""},
		{[]string{"--brokers", "h:1", "--tls-cert", "c.pem"}, "go together"},
		{[]string{"--brokers", "h:1", "--path-prefix", "prod"}, "want /stage"},
		{[]string{"--brokers", "h:1", "--path-prefix", "/prod/"}, "want /stage"},
		{[]string{"--brokers", "h:1", "--max-body", "0"}, "positive sizes"},
		{[]string{"--brokers", "h:1", "--kafka-sasl", "PLAIN"}, "username"},
		{[]string{"--brokers", "h:1", "--log-format", "xml"}, "text or json"},
		{[]string{"--brokers", "h:1", "extra"}, "unexpected argument"},
		{[]string{"--nope"}, "--help"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("PINPIPE_KAFKA_BROKERS", "")
			_, err := parseFlags(tc.args, io.Discard)
			if cli.ExitCode(err) != cli.ExitUsage || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v (exit %d), want a usage error with %q", err, cli.ExitCode(err), tc.msg)
			}
		})
	}
}

// TestRunHTTPS runs the gateway over TLS with an API key and a stage,
// produces one record, reads /metrics and /healthz, and stops it.
func TestRunHTTPS(t *testing.T) {
	brokers := devstack.NewKafka(t)
	conn, err := kafka.Dial("tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.CreateTopics(kafka.TopicConfig{Topic: "p.pin", NumPartitions: 1, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	ca := kafkatest.NewCA(t, "gateway-ca")
	_, certFile, keyFile := ca.Issue(t, "127.0.0.1")
	pool := ca.Pool()
	metrics := devstack.FreeAddr(t)
	cfg, err := parseFlags([]string{"--brokers", brokers[0], "--listen", "127.0.0.1:0", "--path-prefix", "/prod",
		"--tls-cert", certFile, "--tls-key", keyFile, "--metrics", metrics, "--api-key", "k3y"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, io.Discard, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("POST", "https://"+addr+"/prod/topics/p.pin", strings.NewReader(`{"records":[{"value":{"ind":7}}]}`))
	req.Header.Set("Content-Type", gateway.ContentTypeJSON)
	req.Header.Set("x-api-key", "k3y")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ans gateway.ProduceResponse
	if resp.StatusCode != 200 || json.Unmarshal(body, &ans) != nil || len(ans.Offsets) != 1 || ans.Offsets[0].Offset == nil || *ans.Offsets[0].Offset != 0 {
		t.Fatalf("answer %d %s", resp.StatusCode, body)
	}
	// Plain HTTP on the TLS port is answered 400 (by net/http) and never
	// reaches the gateway.
	if resp, err := http.Get("http://" + addr + "/prod/topics/p.pin"); err != nil {
		t.Errorf("plain HTTP on the TLS port: %v, want a 400 answer", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS port: %s, want 400", resp.Status)
		}
	}
	if s := get(t, "http://"+metrics+"/metrics"); !strings.Contains(s, `pinpipe_gateway_records_total{backend="kafka",result="stored"} 1`) {
		t.Errorf("/metrics lacks the stored record:\n%s", s)
	}
	if s := get(t, "http://"+metrics+"/healthz"); strings.TrimSpace(s) != "ok" {
		t.Errorf("/healthz = %q", s)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run after stop: %v", err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
