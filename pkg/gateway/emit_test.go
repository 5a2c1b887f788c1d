package gateway_test

import (
	"testing"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/emit"
	"github.com/pinpipe/pinpipe/pkg/gateway"
	"github.com/pinpipe/pinpipe/pkg/landing"
)

// TestEmitThroughRestProxy: emit's REST Proxy sink, batched and unbatched,
// posts through the gateway into Kafka: every record once.
func TestEmitThroughRestProxy(t *testing.T) {
	brokers := devstack.NewKafka(t)
	const prefix, rows = "e", 100
	for _, tb := range clean.Tables {
		newTopic(t, brokers[0], landing.Topic(prefix, tb), 3)
	}
	srv, _ := newGateway(t, brokers, gateway.Config{PathPrefix: "/prod"})
	for _, batch := range []int{1, 100} {
		tg, err := emit.OpenSink(t.Context(), srv.URL+"/prod/topics/", emit.SinkOptions{Prefix: prefix, HTTPBatch: batch})
		if err != nil {
			t.Fatal(err)
		}
		src, err := emit.NewSampleSource(1, 1000)
		if err != nil {
			t.Fatal(err)
		}
		e, err := emit.New(src, []emit.Target{tg}, emit.Options{Count: rows, Order: emit.OrderSequential})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Run(t.Context()); err != nil {
			t.Fatalf("emit with batches of %d: %v", batch, err)
		}
		tg.Sink.Close()
	}
	for _, tb := range clean.Tables {
		topic := landing.Topic(prefix, tb)
		seen := map[string]int{}
		for p := range 3 {
			for _, m := range readPartition(t, brokers[0], topic, p) {
				seen[string(m.Value)]++
			}
		}
		n := 0
		for v, c := range seen {
			n += c
			if c != 2 { // each row sent once per batch size
				t.Errorf("%s: record %.60s stored %d times, want 2", topic, v, c)
			}
		}
		if n != 2*rows {
			t.Errorf("%s holds %d records, want %d", topic, n, 2*rows)
		}
	}
}
