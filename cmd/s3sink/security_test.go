package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/internal/kafkatest"
	"github.com/pinpipe/pinpipe/internal/landtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/emit"
	"github.com/pinpipe/pinpipe/pkg/kafkax"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// TestSecureKafka runs emit's Kafka sink and s3sink against in-process kfake
// clusters that require TLS, SASL PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and
// TLS with SCRAM: emit creates the topics and produces, s3sink lands every
// record once as a consumer group member and commits the offsets. A wrong
// password stops s3sink at start with the explained error.
func TestSecureKafka(t *testing.T) {
	const rows = 12
	for _, tc := range kafkatest.Secured {
		brokers, sec := kafkatest.Start(t, tc)
		t.Run(sec.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			const prefix = "sec"
			tg, err := emit.OpenSink(ctx, "kafka://"+strings.Join(brokers, ","), emit.SinkOptions{Prefix: prefix, Create: true, Kafka: sec})
			if err != nil {
				t.Fatalf("emit: %v", err)
			}
			var recs []emit.Record
			for i := range rows {
				for _, tb := range clean.Tables {
					recs = append(recs, emit.Record{Table: tb, Key: strconv.Itoa(i), Value: fmt.Appendf(nil, `{"ind":%d}`, i)})
				}
			}
			if fails := tg.Sink.Write(ctx, recs); len(fails) > 0 {
				t.Fatalf("emit: %d records failed, first: %v", len(fails), fails[0].Err)
			}
			tg.Sink.Close()

			dir := t.TempDir()
			cfg := Config{Brokers: strings.Join(brokers, ","), Prefix: prefix, Output: dir, Group: "g", FlushSize: 1,
				LogFormat: cli.LogText, Kafka: sec}
			var logs syncBuffer
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- run(runCtx, cfg, &logs) }()
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("s3sink log:\n%s", logs.String())
				}
			})
			bucket, err := objstore.OpenConditional(ctx, dir, objstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, tb := range clean.Tables {
				landtest.WaitLanded(t, ctx, bucket, landing.Topic(prefix, tb), rows)
			}
			waitCommitted(t, ctx, brokers, sec, "g", prefix, rows)
			stop()
			if err := <-done; err != nil {
				t.Fatalf("s3sink: %v\n%s", err, logs.String())
			}
			for _, tb := range clean.Tables {
				topic := landing.Topic(prefix, tb)
				landtest.AssertSame(t, topic, landtest.PartitionLogConfig(t, ctx, brokers, sec, topic), mustLanded(t, ctx, bucket, topic))
			}

			if sec.SASL != "" {
				bad := cfg
				bad.Kafka.Password = "wrong"
				err := run(ctx, bad, &logs)
				want := "kafka broker " + brokers[0] + ": SASL " + sec.SASL + " login failed"
				if err == nil || cli.ExitCode(err) != cli.ExitFailure || !strings.Contains(err.Error(), want) || !errors.Is(err, kafkax.ErrLogin) {
					t.Errorf("s3sink with a wrong password = %v (exit %d), want exit 1 and %q", err, cli.ExitCode(err), want)
				}
			}
		})
	}
}

func mustLanded(t *testing.T, ctx context.Context, b objstore.Reader, topic string) map[int]map[int64]string {
	got, _ := landtest.Landed(t, ctx, b, topic)
	return got
}

// waitCommitted polls the group's committed offsets until each topic of
// the prefix has n committed.
func waitCommitted(t *testing.T, ctx context.Context, brokers []string, sec kafkax.Config, group, prefix string, n int64) {
	t.Helper()
	tr, err := sec.Transport()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	cl := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}
	topics := map[string][]int{}
	for _, tb := range clean.Tables {
		topics[landing.Topic(prefix, tb)] = []int{0, 1, 2}
	}
	var last string
	for ctx.Err() == nil {
		resp, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: topics})
		done := err == nil && resp.Error == nil
		last = fmt.Sprint(err)
		if done {
			var parts []string
			for topic, ps := range resp.Topics {
				var sum int64
				for _, p := range ps {
					if p.CommittedOffset > 0 {
						sum += p.CommittedOffset
					}
				}
				parts = append(parts, fmt.Sprintf("%s:%d", topic, sum))
				done = done && sum == n
			}
			last = strings.Join(parts, " ")
		}
		if done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("group %s never committed %d offsets per topic; last: %s", group, n, last)
}

// syncBuffer is a bytes.Buffer safe for the sink's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
