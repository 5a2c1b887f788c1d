// Package sink lands Kafka topics in an object store in the layout of the
// Confluent S3 sink connector (data.md §5), with exactly-once objects: an
// offset is committed only after the object holding it is stored, and an
// object's key is derived from its first offset, so a replay after a crash
// overwrites instead of duplicating.
package sink

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"time"
)

// batch accumulates the records of one partition for one object. Its cut
// points depend on the records (their count and their timestamps) and, with
// a schedule, on the wall clock; a replay from the same offset may therefore
// cut other objects than a crashed owner did, which is why a new owner
// deletes every uncommitted object before it stores its own (PROTOCOL.md).
type batch struct {
	flushSize int
	rotate    time.Duration
	schedule  time.Duration
	due       time.Time // with a schedule: the wall-clock time the batch is cut at

	start   int64     // offset of the first record
	next    int64     // offset after the last record
	first   time.Time // timestamp of the first record
	n       int
	invalid int // records whose value is not valid JSON
	buf     bytes.Buffer
}

// full reports whether the batch must be flushed before a record with
// timestamp ts is added: it holds flushSize records, or ts lies at or past the
// rotation boundary that started with the first record.
func (b *batch) full(ts time.Time) bool {
	if b.n == 0 {
		return false
	}
	if b.n >= b.flushSize {
		return true
	}
	return b.rotate > 0 && !ts.Before(b.first.Add(b.rotate))
}

// overdue reports whether the wall-clock cut of a non-empty batch is due at
// now.
func (b *batch) overdue(now time.Time) bool {
	return b.n > 0 && !b.due.IsZero() && !now.Before(b.due)
}

// nextBoundary returns the first multiple of every (counted from the Unix
// epoch) strictly after t.
func nextBoundary(t time.Time, every time.Duration) time.Time {
	return t.Truncate(every).Add(every)
}

// add appends one record, read at wall-clock time now. The value is landed as is, one per line; a valid
// JSON value that spans lines is compacted onto one line (same value), and
// line breaks in a value that is not JSON are escaped as \n and \r so the
// object stays newline-delimited. Invalid values are counted.
func (b *batch) add(offset int64, ts time.Time, value []byte, now time.Time) {
	if b.n == 0 {
		b.start = offset
		b.first = ts
		if b.schedule > 0 {
			b.due = nextBoundary(now, b.schedule)
		}
	}
	b.next = offset + 1
	b.n++
	valid := json.Valid(value)
	if !valid {
		b.invalid++
	}
	switch {
	case bytes.IndexAny(value, "\r\n") < 0:
		b.buf.Write(value)
	case valid:
		_ = json.Compact(&b.buf, value) // cannot fail: value is valid JSON
	default:
		for _, c := range value {
			switch c {
			case '\n':
				b.buf.WriteString(`\n`)
			case '\r':
				b.buf.WriteString(`\r`)
			default:
				b.buf.WriteByte(c)
			}
		}
	}
	b.buf.WriteByte('\n')
}

// body returns the object's content, gzip-compressed when gz is set.
func (b *batch) body(gz bool) ([]byte, error) {
	if !gz {
		return b.buf.Bytes(), nil
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b.buf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
