package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/internal/kafkatest"
	"github.com/pinpipe/pinpipe/pkg/gateway"
	"github.com/pinpipe/pinpipe/pkg/kafkax"
)

// TestSecureKafka runs the gateway against kfake clusters that require
// TLS (with a client certificate), SASL PLAIN and TLS with SCRAM-SHA-512,
// produces a record through it and reads it back with the same security; a
// wrong password stops the gateway at start with the explained error.
func TestSecureKafka(t *testing.T) {
	for _, tc := range []kafkatest.Cluster{
		{TLS: true, ClientCert: true, Topics: []string{"s.pin"}},
		{SASL: kafkax.PLAIN, Topics: []string{"s.pin"}},
		{TLS: true, SASL: kafkax.SCRAMSHA512, Topics: []string{"s.pin"}},
	} {
		brokers, sec := kafkatest.Start(t, tc)
		t.Run(sec.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cfg := Config{Brokers: strings.Join(brokers, ","), Kafka: sec, Listen: "127.0.0.1:0", MaxBody: 1 << 20,
				MaxRecord: 1 << 20, Drain: 5 * time.Second, UnhealthyAfter: time.Minute, Linger: time.Millisecond, LogFormat: cli.LogText}
			runCtx, stop := context.WithCancel(ctx)
			ready := make(chan string, 1)
			done := make(chan error, 1)
			go func() { done <- run(runCtx, cfg, io.Discard, ready) }()
			var addr string
			select {
			case addr = <-ready:
			case err := <-done:
				t.Fatalf("run: %v", err)
			}
			resp, err := http.Post("http://"+addr+"/topics/s.pin", gateway.ContentTypeJSON, strings.NewReader(`{"records":[{"key":"k","value":{"ind":1}}]}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var ans gateway.ProduceResponse
			if resp.StatusCode != 200 || json.Unmarshal(body, &ans) != nil || ans.Offsets[0].Partition == nil {
				t.Fatalf("answer %d %s", resp.StatusCode, body)
			}
			d, err := sec.Dialer(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: "s.pin", Partition: int(*ans.Offsets[0].Partition), Dialer: d, MaxWait: 100 * time.Millisecond})
			defer r.Close()
			m, err := r.ReadMessage(ctx)
			if err != nil || string(m.Key) != `"k"` || string(m.Value) != `{"ind":1}` || m.Offset != *ans.Offsets[0].Offset {
				t.Fatalf("read back %+v: %v", m, err)
			}
			stop()
			if err := <-done; err != nil {
				t.Fatalf("run after stop: %v", err)
			}
		})
		if tc.SASL == kafkax.PLAIN {
			bad := sec
			bad.Password = "wrong"
			cfg := Config{Brokers: strings.Join(brokers, ","), Kafka: bad, Listen: "127.0.0.1:0", MaxBody: 1, MaxRecord: 1,
				Drain: time.Second, UnhealthyAfter: time.Minute, Linger: time.Millisecond, LogFormat: cli.LogText}
			err := run(t.Context(), cfg, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), "login failed") {
				t.Errorf("wrong password: run = %v, want the explained login failure", err)
			}
		}
	}
}
