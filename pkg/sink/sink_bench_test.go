package sink

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// benchLand produces records into 3 partitions of one topic, then measures
// how long the sink takes to land them all on versitygw.
func benchLand(b *testing.B, records, flushSize int) {
	ctx := b.Context()
	st := devstack.Require(b, devstack.S3)
	brokers := devstack.NewKafka(b)
	topic := fmt.Sprintf("bench%d.pin", flushSize)
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.RoundRobin{}, BatchSize: 1000, BatchTimeout: time.Millisecond, AllowAutoTopicCreation: true}
	msgs := make([]kafka.Message, 0, 1000)
	for i := 0; i < records; i++ {
		msgs = append(msgs, kafka.Message{Value: fmt.Appendf(nil, `{"index":%d,"unique_id":"%08d-aaaa-bbbb-cccc-dddddddddddd","title":"A title of some length","category":"diy-and-crafts"}`, i, i)})
		if len(msgs) == cap(msgs) || i == records-1 {
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	w.Close()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		bucket, err := objstore.OpenConditional(ctx, "s3://"+st.NewBucket(b)+"/topics", objstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		s, err := New(Config{Brokers: brokers, Topics: []string{topic}, Group: fmt.Sprintf("g%d", n), FlushSize: flushSize}, bucket)
		if err != nil {
			b.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- s.Run(runCtx) }()
		want := records / flushSize * flushSize
		for landedObjects(b, ctx, bucket, topic)*flushSize < want-3*flushSize {
			time.Sleep(50 * time.Millisecond)
		}
		elapsed := time.Since(start)
		cancel()
		<-done
		b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(records/flushSize)/elapsed.Seconds(), "objects/s")
	}
}

func landedObjects(b *testing.B, ctx context.Context, bucket objstore.Reader, topic string) int {
	objs, err := bucket.List(ctx, topic+"/")
	if err != nil {
		b.Fatal(err)
	}
	return len(objs)
}

// BenchmarkLandFlush1000 is the records/s figure of BENCHMARKS.md (target 50,000/s).
func BenchmarkLandFlush1000(b *testing.B) { benchLand(b, 300_000, 1000) }

// BenchmarkLandFlush1 is the objects/s figure of BENCHMARKS.md (target 1,000/s).
func BenchmarkLandFlush1(b *testing.B) { benchLand(b, 6_000, 1) }
