// Package batchtest lays out records as the Kafka to S3 sink does (data.md
// §5), for the tests, the examples and the benchmarks of the batch job.
package batchtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// Layout says how the records of a topic are cut into objects.
type Layout struct {
	// Partitions is the number of partitions. A record goes to partition
	// ind mod Partitions (the key of its "ind" or "index" field; 0 when it
	// has none), so the records of one ind keep their order, as with Kafka
	// keyed by ind. Default: 1.
	Partitions int
	// PerObject is the number of records per object (flush.size).
	// Default: 10000.
	PerObject int
	// Gzip writes .json.gz objects.
	Gzip bool
	// Concurrency is the number of objects stored at the same time.
	// Default: 16.
	Concurrency int
}

func (l Layout) withDefaults() Layout {
	if l.Partitions <= 0 {
		l.Partitions = 1
	}
	if l.PerObject <= 0 {
		l.PerObject = 10000
	}
	if l.Concurrency <= 0 {
		l.Concurrency = 16
	}
	return l
}

// Writer lays out the records of one topic, streaming: it holds one object
// per partition in memory.
type Writer struct {
	b      objstore.Bucket
	topic  string
	layout Layout
	parts  []part
	sem    chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
	n      int
}

type part struct {
	next  int64 // offset of the next record
	start int64
	n     int
	buf   bytes.Buffer
}

// NewWriter returns a writer of topic's objects into b.
func NewWriter(b objstore.Bucket, topic string, layout Layout) *Writer {
	layout = layout.withDefaults()
	return &Writer{b: b, topic: topic, layout: layout, parts: make([]part, layout.Partitions), sem: make(chan struct{}, layout.Concurrency)}
}

// Add appends one record, without its final newline. A record that holds
// newlines (a blank line before it, as sample.DirtyRecords makes) takes one
// offset per line, as the batch job counts them. An object it fills is
// stored in the background, with ctx.
func (w *Writer) Add(ctx context.Context, rec []byte) error {
	idx := PartitionOf(rec, w.layout.Partitions)
	p := &w.parts[idx]
	if p.n == 0 {
		p.start = p.next
	}
	p.buf.Write(rec)
	p.buf.WriteByte('\n')
	p.n++
	p.next += int64(bytes.Count(rec, []byte{'\n'})) + 1
	if p.n >= w.layout.PerObject {
		return w.flush(ctx, idx)
	}
	return w.failed()
}

// Skip counts the offsets of rec, as Add does, without storing it: a record
// that an earlier writer of the same records stored, so that the objects of
// this one continue its offsets. Records are skipped before any is added.
func (w *Writer) Skip(rec []byte) {
	p := &w.parts[PartitionOf(rec, w.layout.Partitions)]
	if p.n > 0 {
		panic("batchtest: Skip after Add")
	}
	p.next += int64(bytes.Count(rec, []byte{'\n'})) + 1
}

func (w *Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) flush(ctx context.Context, idx int) error {
	p := &w.parts[idx]
	if p.n == 0 {
		return nil
	}
	key := landing.Key{Topic: w.topic, Partition: int32(idx), Start: p.start, Gzip: w.layout.Gzip}.String()
	body := bytes.Clone(p.buf.Bytes())
	p.buf.Reset()
	p.n = 0
	if w.layout.Gzip {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(body)
		zw.Close()
		body = z.Bytes()
	}
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	w.wg.Go(func() {
		defer func() { <-w.sem }()
		if err := w.b.Put(ctx, key, bytes.NewReader(body)); err != nil {
			w.mu.Lock()
			w.err = errors.Join(w.err, err)
			w.mu.Unlock()
		}
	})
	w.n++
	return w.failed()
}

// Close stores the last objects and waits for every object to be stored.
func (w *Writer) Close(ctx context.Context) error {
	var err error
	for i := range w.parts {
		err = errors.Join(err, w.flush(ctx, i))
	}
	w.wg.Wait()
	return errors.Join(err, w.failed())
}

// Objects is the number of objects written.
func (w *Writer) Objects() int { return w.n }

// Write lays out lines as the objects of topic in b.
func Write(ctx context.Context, b objstore.Bucket, topic string, lines [][]byte, layout Layout) error {
	w := NewWriter(b, topic, layout)
	for _, l := range lines {
		if err := w.Add(ctx, l); err != nil {
			w.Close(ctx)
			return fmt.Errorf("writing topic %s: %w", topic, err)
		}
	}
	if err := w.Close(ctx); err != nil {
		return fmt.Errorf("writing topic %s: %w", topic, err)
	}
	return nil
}

// PartitionOf returns the partition of a record: its ind (or index) modulo n,
// or 0 when the line has no integer key.
func PartitionOf(line []byte, n int) int {
	if n <= 1 {
		return 0
	}
	var keys struct {
		Ind   json.RawMessage `json:"ind"`
		Index json.RawMessage `json:"index"`
	}
	if json.Unmarshal(line, &keys) != nil {
		return 0
	}
	for _, raw := range []json.RawMessage{keys.Index, keys.Ind} {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		s = strings.TrimFunc(s, unicode.IsSpace)
		if v, err := strconv.ParseInt(s, 10, 64); err == nil && v >= 0 {
			return int(v % int64(n))
		}
	}
	return 0
}
