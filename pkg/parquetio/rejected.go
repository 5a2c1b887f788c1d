package parquetio

import (
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// Rejected is one line kept out of a clean table, for the quarantine dataset.
type Rejected struct {
	Table    string // "pin", "geo" or "user"
	Reason   string // the rejection reason (clean.Reason)
	Detail   string // a human-readable detail, or "" (clean.Rejected)
	Source   string // the object key or stream the line came from
	Line     int64  // 1-based line number in Source (batch), or 0
	Shard    string // Kinesis shard (stream), or ""
	Sequence string // Kinesis sequence number (stream), or ""
	Raw      string // the raw line, cut to clean.MaxRawBytes
}

// NewRejected returns the quarantine row of r, with the fields the batch and
// stream jobs share; the caller adds where it came from (Source, and Line or
// Shard and Sequence).
func NewRejected(r clean.Rejected) Rejected {
	return Rejected{Table: string(r.Table), Reason: string(r.Reason), Detail: r.Detail, Raw: r.Raw}
}

// validUTF8 replaces invalid UTF-8 bytes of s with U+FFFD (utf8 columns must
// hold valid UTF-8). It does not allocate when s is valid.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// rejectedEncodings: the table, reason, source and shard of the rejects of
// a file take few values; the raw lines and sequence numbers are unique.
var rejectedEncodings = encodings{
	plain: []string{"raw", "detail", "line", ColSequence},
	dict:  []string{"table", "reason", "source", ColShard},
}

// WriteRejected writes rows as a quarantine file of RejectedSchema. Invalid
// UTF-8 in any string is replaced by U+FFFD. w is not closed.
func WriteRejected(w io.Writer, rows []Rejected, opts Options) error {
	err := writeChunked(w, RejectedSchema(), len(rows), opts, rejectedEncodings, func(c *columns, lo, hi int) {
		table := c.text(0)
		reason := c.text(1)
		detail := c.text(2)
		source := c.text(3)
		line := c.int64s(4)
		shard := c.text(5)
		seq := c.text(6)
		raw := c.text(7)
		for i := lo; i < hi; i++ {
			r := &rows[i]
			table.Append(validUTF8(r.Table))
			reason.Append(validUTF8(r.Reason))
			detail.Append(validUTF8(r.Detail))
			source.Append(validUTF8(r.Source))
			line.Append(r.Line)
			shard.Append(validUTF8(r.Shard))
			seq.Append(validUTF8(r.Sequence))
			raw.Append(validUTF8(r.Raw))
		}
	})
	if err != nil {
		return fmt.Errorf("writing rejected rows: %w", err)
	}
	return nil
}

// ReadRejected reads a quarantine file written by WriteRejected.
func ReadRejected(r parquet.ReaderAtSeeker) ([]Rejected, error) {
	return readRejected(r, memory.DefaultAllocator)
}

func readRejected(r parquet.ReaderAtSeeker, mem memory.Allocator) ([]Rejected, error) {
	var rows []Rejected
	schema := func(bool) *arrow.Schema { return RejectedSchema() }
	_, err := readRecords(r, mem, "rejected", schema, nil, func(rec arrow.RecordBatch, _ extra) error {
		var cols [8]strCol
		for c := range cols {
			if c != 4 {
				cols[c] = newStrCol(rec.Column(c))
			}
		}
		line := rec.Column(4).(*array.Int64)
		for i := range int(rec.NumRows()) {
			rows = append(rows, Rejected{
				Table: cols[0].value(i), Reason: cols[1].value(i), Detail: cols[2].value(i), Source: cols[3].value(i),
				Line: line.Value(i), Shard: cols[5].value(i), Sequence: cols[6].value(i), Raw: cols[7].value(i),
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading rejected rows: %w", err)
	}
	return rows, nil
}
