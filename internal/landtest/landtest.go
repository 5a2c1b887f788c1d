// Package landtest checks landed Kafka objects against the broker's log, for
// the tests of s3sink and the batch job.
package landtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/pkg/kafkax"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// Messages reads back every record of a topic straight from the broker,
// partition by partition in offset order: the truth the landed objects and
// the emitter's output are compared with.
func Messages(t testing.TB, ctx context.Context, brokers []string, topic string) map[int][]kafka.Message {
	t.Helper()
	return MessagesConfig(t, ctx, brokers, kafkax.Config{}, topic)
}

// MessagesConfig is Messages from brokers that want the TLS and SASL of sec.
func MessagesConfig(t testing.TB, ctx context.Context, brokers []string, sec kafkax.Config, topic string) map[int][]kafka.Message {
	t.Helper()
	d, err := sec.Dialer(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := d.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions(topic)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	out := map[int][]kafka.Message{}
	for _, p := range parts {
		pc, err := d.DialLeader(ctx, "tcp", brokers[0], topic, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		last, err := pc.ReadLastOffset()
		pc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[p.ID] = nil
		if last == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Dialer: d, Topic: topic, Partition: p.ID, MaxWait: 100 * time.Millisecond})
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("reading %s/%d: %v", topic, p.ID, err)
			}
			out[p.ID] = append(out[p.ID], m)
			if m.Offset >= last-1 {
				break
			}
		}
		r.Close()
	}
	return out
}

// PartitionLog is Messages as partition -> offset -> value.
func PartitionLog(t testing.TB, ctx context.Context, brokers []string, topic string) map[int]map[int64]string {
	t.Helper()
	return PartitionLogConfig(t, ctx, brokers, kafkax.Config{}, topic)
}

// PartitionLogConfig is PartitionLog from brokers that want the TLS and SASL
// of sec.
func PartitionLogConfig(t testing.TB, ctx context.Context, brokers []string, sec kafkax.Config, topic string) map[int]map[int64]string {
	t.Helper()
	out := map[int]map[int64]string{}
	for p, msgs := range MessagesConfig(t, ctx, brokers, sec, topic) {
		out[p] = map[int64]string{}
		for _, m := range msgs {
			out[p][m.Offset] = string(m.Value)
		}
	}
	return out
}

// Landed reads every landed object of topic and returns partition -> offset
// -> value, failing on any offset landed twice or any malformed object.
func Landed(t testing.TB, ctx context.Context, b objstore.Reader, topic string) (map[int]map[int64]string, int) {
	t.Helper()
	objs, err := b.List(ctx, landing.TopicDir(topic))
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]map[int64]string{}
	for _, o := range objs {
		k, err := landing.ParseKey(o.Key)
		if err != nil {
			t.Fatal(err)
		}
		p, start, gz := int(k.Partition), k.Start, k.Gzip
		rc, err := b.Get(ctx, o.Key)
		if errors.Is(err, objstore.ErrNotFound) {
			continue // removed by a running sink since List (an uncommitted object)
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = rc
		if gz {
			zr, err := gzip.NewReader(rc)
			if err != nil {
				t.Fatalf("object %s: %v", o.Key, err)
			}
			r = zr
		}
		data, err := io.ReadAll(r)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if out[p] == nil {
			out[p] = map[int64]string{}
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for i := int64(0); sc.Scan(); i++ {
			if prev, dup := out[p][start+i]; dup {
				t.Errorf("offset %d of %s/%d landed twice (%q, again in %s)", start+i, topic, p, prev, o.Key)
			}
			out[p][start+i] = sc.Text()
		}
	}
	return out, len(objs)
}

func AssertSame(t testing.TB, topic string, want, got map[int]map[int64]string) {
	t.Helper()
	for p, offs := range want {
		for off, v := range offs {
			g, ok := got[p][off]
			if !ok {
				t.Errorf("%s/%d offset %d not landed", topic, p, off)
				continue
			}
			if g != v {
				t.Errorf("%s/%d offset %d landed as %q, want %q", topic, p, off, g, v)
			}
		}
		if len(got[p]) != len(offs) {
			t.Errorf("%s/%d: %d records landed, want %d", topic, p, len(got[p]), len(offs))
		}
	}
}

// WaitLanded polls until n records of topic are landed.
func WaitLanded(t testing.TB, ctx context.Context, b objstore.Reader, topic string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, _ := Landed(t, ctx, b, topic)
		c := 0
		for _, offs := range got {
			c += len(offs)
		}
		if c >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d records landed after 60s", topic, c, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
