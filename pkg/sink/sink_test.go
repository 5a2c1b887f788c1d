package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pinpipe/pinpipe/internal/landtest"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

func TestBatchCuts(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	b := &batch{flushSize: 3, rotate: time.Minute}
	if b.full(t0) {
		t.Fatal("empty batch reported full")
	}
	b.add(10, t0, []byte(`{"a":1}`), t0)
	if b.full(t0.Add(59 * time.Second)) {
		t.Error("full before the rotation boundary")
	}
	if !b.full(t0.Add(time.Minute)) {
		t.Error("not full at the rotation boundary")
	}
	b.add(11, t0, []byte("{\n \"a\": 2\n}"), t0)
	b.add(12, t0, []byte("not\njson"), t0)
	if !b.full(t0) {
		t.Error("not full at flush size")
	}
	want := "{\"a\":1}\n{\"a\":2}\nnot\\njson\n"
	if got := b.buf.String(); got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if b.start != 10 || b.next != 13 || b.n != 3 || b.invalid != 1 {
		t.Errorf("start, next, n, invalid = %d, %d, %d, %d; want 10, 13, 3, 1", b.start, b.next, b.n, b.invalid)
	}
	if b.overdue(t0.Add(time.Hour)) {
		t.Error("a batch without a schedule is overdue")
	}
}

// TestBatchSchedule checks the wall-clock cut: at the first multiple of the
// interval after the first record was read, whatever the records' own
// timestamps.
func TestBatchSchedule(t *testing.T) {
	read := time.Date(2026, 11, 25, 10, 0, 41, 0, time.UTC)
	b := &batch{flushSize: 100, schedule: time.Minute}
	if b.overdue(read.Add(time.Hour)) {
		t.Error("an empty batch is overdue")
	}
	b.add(5, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), []byte(`{}`), read)
	b.add(6, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), []byte(`{}`), read.Add(30*time.Second))
	if want := time.Date(2026, 11, 25, 10, 1, 0, 0, time.UTC); !b.due.Equal(want) {
		t.Errorf("due %v, want %v (the next whole minute after the first record)", b.due, want)
	}
	if b.overdue(b.due.Add(-time.Nanosecond)) || !b.overdue(b.due) {
		t.Error("overdue does not switch at due")
	}
	if got := nextBoundary(time.Date(2026, 11, 25, 10, 1, 0, 0, time.UTC), time.Minute); !got.Equal(time.Date(2026, 11, 25, 10, 2, 0, 0, time.UTC)) {
		t.Errorf("nextBoundary of a boundary = %v, want the next one", got)
	}
}

// newCluster starts an in-process Kafka-protocol cluster with the topics.
func newCluster(t *testing.T, partitions int32, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// produce writes n records to each topic, keyed by their number, values
// {"ind":i,"topic":...}; some values are deliberately not JSON.
func produce(t *testing.T, ctx context.Context, brokers []string, topic string, from, n int) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	msgs := make([]kafka.Message, 0, n)
	for i := from; i < from+n; i++ {
		v := fmt.Sprintf(`{"ind":%d,"topic":%q}`, i, topic)
		if i%50 == 49 {
			v = fmt.Sprintf("not json %d", i)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(strconv.Itoa(i)), Value: []byte(v)})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
}

func runSink(t *testing.T, ctx context.Context, cfg Config, b objstore.Conditional) (stop func()) {
	t.Helper()
	s, err := New(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("sink: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("sink did not stop within 30s")
		}
	}
}

func TestLandEveryOffsetOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	for _, tc := range []struct {
		name      string
		flushSize int
		gz        bool
	}{
		{"flush-1", 1, false},
		{"flush-7-gzip", 7, true},
		{"flush-1000", 1000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			topics := []string{"p.pin", "p.geo"}
			brokers := newCluster(t, 3, topics...)
			for _, topic := range topics {
				produce(t, ctx, brokers, topic, 0, 120)
			}
			b, err := objstore.OpenConditional(ctx, t.TempDir(), objstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			m := NewMetrics(prometheus.NewRegistry())
			stop := runSink(t, ctx, Config{Brokers: brokers, Topics: topics, Group: "g", FlushSize: tc.flushSize, Gzip: tc.gz, Metrics: m}, b)
			// More records after the first objects, landed by the same run.
			produce(t, ctx, brokers, "p.pin", 120, 30)
			// Wait until every record is fetched; partial objects land on stop.
			waitFetched(t, m, "p.pin", 150)
			waitFetched(t, m, "p.geo", 120)
			stop() // flushes partial objects and commits
			for _, topic := range topics {
				got, _ := landtest.Landed(t, ctx, b, topic)
				landtest.AssertSame(t, topic, landtest.PartitionLog(t, ctx, brokers, topic), got)
			}
			// A second run of the same group lands nothing new and rewrites
			// nothing: once it owns every partition (past their clean-up),
			// it is stopped.
			before, nb := landtest.Landed(t, ctx, b, "p.pin")
			m2 := NewMetrics(prometheus.NewRegistry())
			stop = runSink(t, ctx, Config{Brokers: brokers, Topics: topics, Group: "g", FlushSize: tc.flushSize, Gzip: tc.gz, Metrics: m2}, b)
			for _, topic := range topics {
				waitLanding(t, m2, topic, 3)
			}
			stop()
			after, na := landtest.Landed(t, ctx, b, "p.pin")
			if na != nb {
				t.Errorf("second run changed the object count from %d to %d", nb, na)
			}
			landtest.AssertSame(t, "p.pin", before, after)
		})
	}
}

func TestRotateIntervalByRecordTime(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ctx := t.Context()
	brokers := newCluster(t, 1, "r.pin")
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: "r.pin", RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var msgs []kafka.Message
	// Timestamps 0s,10s,...,90s: with a 30s rotation, objects start at 0, 3, 6, 9.
	for i := 0; i < 10; i++ {
		msgs = append(msgs, kafka.Message{Value: []byte(fmt.Sprintf(`{"ind":%d}`, i)), Time: t0.Add(time.Duration(i) * 10 * time.Second)})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	b, err := objstore.OpenConditional(ctx, t.TempDir(), objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stop := runSink(t, ctx, Config{Brokers: brokers, Topics: []string{"r.pin"}, Group: "g", FlushSize: 100, RotateInterval: 30 * time.Second}, b)
	landtest.WaitLanded(t, ctx, b, "r.pin", 9) // 0-2, 3-5, 6-8 closed by the next record; 9 on shutdown
	stop()
	objs, err := b.List(ctx, "r.pin/")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key[strings.LastIndex(o.Key, "+")+1:])
	}
	want := "0000000000.json 0000000003.json 0000000006.json 0000000009.json"
	if got := strings.Join(keys, " "); got != want {
		t.Errorf("objects = %s, want %s", got, want)
	}
}

// TestRotateSchedule lands a quiet topic's records with a flush size they
// never reach: the wall-clock schedule cuts each object while the sink runs,
// with no shutdown to flush them.
func TestRotateSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ctx := t.Context()
	brokers := newCluster(t, 1, "q.pin")
	b, err := objstore.OpenConditional(ctx, t.TempDir(), objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stop := runSink(t, ctx, Config{Brokers: brokers, Topics: []string{"q.pin"}, Group: "g", FlushSize: 1000, RotateSchedule: 200 * time.Millisecond}, b)
	defer stop()
	produce(t, ctx, brokers, "q.pin", 0, 3)
	landtest.WaitLanded(t, ctx, b, "q.pin", 3)
	produce(t, ctx, brokers, "q.pin", 3, 2)
	landtest.WaitLanded(t, ctx, b, "q.pin", 5)
	got, _ := landtest.Landed(t, ctx, b, "q.pin")
	landtest.AssertSame(t, "q.pin", landtest.PartitionLog(t, ctx, brokers, "q.pin"), got)
}

func TestRebalanceTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ctx := t.Context()
	topics := []string{"b.pin", "b.geo", "b.user"}
	brokers := newCluster(t, 4, topics...)
	b, err := objstore.OpenConditional(ctx, t.TempDir(), objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Brokers: brokers, Topics: topics, Group: "shared", FlushSize: 5}
	stopA := runSink(t, ctx, cfg, b)
	for _, topic := range topics {
		produce(t, ctx, brokers, topic, 0, 100)
	}
	mB := NewMetrics(prometheus.NewRegistry())
	cfgB := cfg
	cfgB.Metrics = mB
	stopB := runSink(t, ctx, cfgB, b) // joins: partitions move between instances
	for _, topic := range topics {
		produce(t, ctx, brokers, topic, 100, 100)
	}
	waitLandingSome(t, mB, topics) // B owns partitions: the rebalance happened
	stopA()                        // leaves: B takes every partition
	for _, topic := range topics {
		produce(t, ctx, brokers, topic, 200, 100)
	}
	for _, topic := range topics {
		waitLanding(t, mB, topic, 4)
	}
	stopB()
	// A third instance, with another flush size, lands whatever B left
	// uncommitted (it may have been mid-rebalance when stopped): one object
	// per record, so every record is landed without a shutdown.
	stopC := runSink(t, ctx, Config{Brokers: brokers, Topics: topics, Group: "shared", FlushSize: 1}, b)
	for _, topic := range topics {
		landtest.WaitLanded(t, ctx, b, topic, 300)
	}
	stopC()
	for _, topic := range topics {
		got, _ := landtest.Landed(t, ctx, b, topic)
		landtest.AssertSame(t, topic, landtest.PartitionLog(t, ctx, brokers, topic), got)
	}
}

func TestTopicRegex(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	brokers := newCluster(t, 1, "a.pin", "a.geo", "other.pin")
	s, err := New(Config{Brokers: brokers, TopicRegex: `^a\.`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ResolveTopics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "a.geo,a.pin" {
		t.Errorf("topics = %v, want [a.geo a.pin]", got)
	}
	s, _ = New(Config{Brokers: brokers, TopicRegex: `^nothing$`}, nil)
	if _, err := s.ResolveTopics(t.Context()); err == nil || !strings.Contains(err.Error(), "no topic") {
		t.Errorf("no matching topic: err = %v", err)
	}
}

func TestHealth(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s, err := New(Config{Brokers: []string{"x:1"}, Topics: []string{"t"}, Group: "g", UnhealthyAfter: time.Minute, Now: func() time.Time { return now }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, want string) {
		t.Helper()
		err := s.Health()
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: Health() = %v, want healthy", when, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: Health() = %v, want an error containing %q", when, err, want)
		}
	}
	check("at start", "")
	now = now.Add(61 * time.Second)
	check("a minute without joining", "not a member of consumer group g for 1m1s")
	s.health.generation(true)
	check("in a generation", "")
	s.health.stored(errors.New("503 Slow Down"))
	now = now.Add(30 * time.Second)
	check("failing for 30s", "")
	s.health.stored(errors.New("500 Internal"))
	now = now.Add(31 * time.Second)
	check("failing for 61s", "storing objects has failed for 1m1s: 500 Internal")
	s.health.stored(nil)
	check("stored again", "")
	s.health.generation(false)
	now = now.Add(59 * time.Second)
	check("rebalancing for 59s", "")
	now = now.Add(2 * time.Second)
	check("out of the group for 61s", "not a member")
}

// failingBucket fails every write.
type failingBucket struct{ objstore.Conditional }

func (failingBucket) PutIf(context.Context, string, io.Reader, objstore.Cond) (string, error) {
	return "", errors.New("disk full")
}

func TestUnhealthyWhileStoringFails(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ctx := t.Context()
	brokers := newCluster(t, 1, "h.pin")
	produce(t, ctx, brokers, "h.pin", 0, 5)
	b, err := objstore.OpenConditional(ctx, t.TempDir(), objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Brokers: brokers, Topics: []string{"h.pin"}, Group: "g", UnhealthyAfter: 500 * time.Millisecond, ShutdownTimeout: time.Second}, failingBucket{b})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	deadline := time.Now().Add(30 * time.Second)
	for s.Health() == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.Health(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Health() = %v, want the store failure", err)
	}
	cancel()
	<-done
	if objs, _ := b.List(ctx, ""); len(objs) != 0 {
		t.Errorf("%d objects stored through a failing store", len(objs))
	}
}

// waitFetched polls until the sink has fetched n records of topic.
func waitFetched(t *testing.T, m *Metrics, topic string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for testutil.ToFloat64(m.fetched.WithLabelValues(topic)) < float64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v of %d records fetched after 60s", topic, testutil.ToFloat64(m.fetched.WithLabelValues(topic)), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLandedMetric polls until the sink has landed (stored and committed) n
// records of topic.
func waitLandedMetric(t *testing.T, m *Metrics, topic string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for testutil.ToFloat64(m.records.WithLabelValues(topic)) < float64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v of %d records landed after 60s", topic, testutil.ToFloat64(m.records.WithLabelValues(topic)), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLanding polls until the sink lands n partitions of topic.
func waitLanding(t *testing.T, m *Metrics, topic string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for testutil.ToFloat64(m.owned.WithLabelValues(topic)) != float64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the sink lands %v partitions after 60s, want %d", topic, testutil.ToFloat64(m.owned.WithLabelValues(topic)), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLandingSome polls until the sink lands at least one partition.
func waitLandingSome(t *testing.T, m *Metrics, topics []string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, topic := range topics {
			if testutil.ToFloat64(m.owned.WithLabelValues(topic)) > 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the sink lands no partition after 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
