package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/streamtest"
	"github.com/pinpipe/pinpipe/pkg/gateway"
)

// load sends n single-record requests from clients concurrent clients
// (each its own keep-alive connection) and reports requests per second and
// the latency percentiles; every answer must be 200.
func load(b *testing.B, clients, n int, req func(i int) *http.Request) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req(i))
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("%s: %s", resp.Status, body)
					}
				}
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { b.Errorf("request %d: %v", i, err) })
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(failed.Load()), "failed")
}

// pinRecords are sample pin records, the JSON objects among
// streamtest.PinRecords (which also has blank ones).
func pinRecords() [][]byte {
	var out [][]byte
	for _, r := range streamtest.PinRecords(1, 0, 1200) {
		if len(r) > 0 && r[0] == '{' && json.Valid(r) {
			out = append(out, r)
		}
	}
	return out
}

// serveBench serves g on a real listener until the benchmark ends.
func serveBench(b *testing.B, g *gateway.Gateway) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln, nil, 30*time.Second) }()
	b.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	return "http://" + ln.Addr().String()
}

// BenchmarkGatewayKafka: single-record REST Proxy requests (a pin record of
// the original's shape) from many concurrent clients to the local stack's
// Kafka, every one acknowledged with acks=all before its 200. Run with
// -benchtime=Nx: N is the number of requests.
func BenchmarkGatewayKafka(b *testing.B) {
	env := devstack.Require(b, devstack.Kafka)
	topic := streamtest.UniqueName("bench.pin.")
	newTopic(b, env.KafkaBrokers[0], topic, 3)
	recs := pinRecords()
	for _, clients := range []int{64, 256} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			k, err := gateway.NewKafka(gateway.KafkaOptions{Brokers: env.KafkaBrokers})
			if err != nil {
				b.Fatal(err)
			}
			defer k.Close()
			g, err := gateway.New(gateway.Config{Kafka: k})
			if err != nil {
				b.Fatal(err)
			}
			url := serveBench(b, g) + "/topics/" + topic
			bodies := make([][]byte, len(recs))
			for i, r := range recs {
				bodies[i] = append(append([]byte(`{"records":[{"value":`), r...), "}]}"...)
			}
			load(b, clients, b.N, func(i int) *http.Request {
				req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Content-Type", gateway.ContentTypeJSON)
				return req
			})
		})
	}
}

// BenchmarkGatewayKinesis: single-record PutRecord requests (PUT
// .../record, the original's streaming shape) from many concurrent clients
// to the local stack's Kinesis (kinesalite), each answered after Kinesis
// returned the record's sequence number.
func BenchmarkGatewayKinesis(b *testing.B) {
	env := devstack.Require(b, devstack.Kinesis)
	api := streamtest.KinesisClient(env, env.KinesisEndpoint)
	stream := streamtest.UniqueName("bench-pin-")
	streamtest.CreateStream(b, api, stream, 4)
	recs := pinRecords()
	for _, clients := range []int{64, 256} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			g, err := gateway.New(gateway.Config{Kinesis: api})
			if err != nil {
				b.Fatal(err)
			}
			url := serveBench(b, g) + "/streams/" + stream + "/record"
			bodies := make([][]byte, len(recs))
			for i, r := range recs {
				bodies[i] = fmt.Appendf(nil, `{"StreamName":"x","Data":%s,"PartitionKey":"partition-%d"}`, r, i)
			}
			load(b, clients, b.N, func(i int) *http.Request {
				req, _ := http.NewRequest("PUT", url, bytes.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Content-Type", "application/json")
				return req
			})
		})
	}
}
