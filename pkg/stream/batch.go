package stream

import (
	"encoding/base64"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

// result of adding one record to a batch.
type addResult int

const (
	added addResult = iota
	rejected
	blank
)

// batch accumulates the clean rows and rejects of one flush of one shard,
// grouped by dt partition.
type batch interface {
	// add cleans one (user) record and keeps its row, or its reject unless
	// dropReject (the quarantine has it already); either way it is counted.
	add(stream, shard string, r kinesisx.Record, dropReject bool) addResult
	// rejectWhole keeps the reject of r, a KPL-aggregated record that did
	// not unpack (err, of kinesisx.Deaggregate), unless dropReject; either
	// way it is counted.
	rejectWhole(stream, shard string, r kinesisx.Record, err error, dropReject bool)
	// dts returns the partitions with rows, sorted.
	dts() []string
	// rejectDTs returns the partitions with rejects, sorted.
	rejectDTs() []string
	// writeRows writes the Parquet file of partition dt; it returns the row count.
	writeRows(w io.Writer, dt string, withSource bool, opts parquetio.Options) (int, error)
	// writeRejects writes the quarantine file of partition dt.
	writeRejects(w io.Writer, dt string, opts parquetio.Options) (int, error)
	// rowCount and rejectCount are the rows and rejects of partition dt.
	rowCount(dt string) int
	rejectCount(dt string) int
	// quality is the quality of the records added since the last reset
	// (RowsWritten and Duplicates left at zero).
	quality() clean.TableQuality
	reset()
}

// dtOf is the partition of a record: its arrival day, UTC.
func dtOf(t time.Time) string { return t.UTC().Format("2006-01-02") }

type part[T any] struct {
	rows []T
	src  []parquetio.Source
}

type tableBatch[T any] struct {
	table clean.Table
	c     *clean.Cleaner
	// unpacked counts the records rejected before cleaning (rejectWhole).
	unpacked clean.TableQuality
	cleanFn  func(*clean.Cleaner, []byte) (T, error)
	writeFn  func(io.Writer, []T, []parquetio.Source, parquetio.Options) error
	parts    map[string]*part[T]
	rejects  map[string][]parquetio.Rejected
}

func newBatch(t clean.Table) batch {
	switch t {
	case clean.TablePin:
		return newTableBatch(t, (*clean.Cleaner).Pin, parquetio.WritePins)
	case clean.TableGeo:
		return newTableBatch(t, (*clean.Cleaner).Geo, parquetio.WriteGeos)
	default:
		return newTableBatch(t, (*clean.Cleaner).User, parquetio.WriteUsers)
	}
}

func newTableBatch[T any](t clean.Table, cf func(*clean.Cleaner, []byte) (T, error), wf func(io.Writer, []T, []parquetio.Source, parquetio.Options) error) *tableBatch[T] {
	return &tableBatch[T]{table: t, c: clean.New(), cleanFn: cf, writeFn: wf,
		parts: map[string]*part[T]{}, rejects: map[string][]parquetio.Rejected{}}
}

func (b *tableBatch[T]) add(stream, shard string, r kinesisx.Record, dropReject bool) addResult {
	row, err := b.cleanFn(b.c, r.Data)
	dt := dtOf(r.Arrival)
	if err != nil {
		if errors.Is(err, clean.ErrBlank) {
			return blank
		}
		b.keepReject(stream, shard, r, clean.NewRejected(b.table, err, r.Data), dropReject)
		return rejected
	}
	p := b.parts[dt]
	if p == nil {
		p = &part[T]{}
		b.parts[dt] = p
	}
	p.rows = append(p.rows, row)
	p.src = append(p.src, parquetio.Source{Shard: shard, Sequence: r.ID(), ArrivalMicros: r.Arrival.UnixMicro()})
	return added
}

func (b *tableBatch[T]) keepReject(stream, shard string, r kinesisx.Record, rj clean.Rejected, dropReject bool) {
	if dropReject {
		return
	}
	q := parquetio.NewRejected(rj)
	q.Source, q.Shard, q.Sequence = stream, shard, r.ID()
	dt := dtOf(r.Arrival)
	b.rejects[dt] = append(b.rejects[dt], q)
}

func (b *tableBatch[T]) rejectWhole(stream, shard string, r kinesisx.Record, err error, dropReject bool) {
	rj := kplRejected(b.table, err, r.Data)
	b.unpacked.RowsRead++
	if b.unpacked.Rejected == nil {
		b.unpacked.Rejected = map[clean.Reason]int64{}
	}
	b.unpacked.Rejected[rj.Reason]++
	b.keepReject(stream, shard, r, rj, dropReject)
}

func (b *tableBatch[T]) dts() []string {
	out := make([]string, 0, len(b.parts))
	for dt, p := range b.parts {
		if len(p.rows) > 0 {
			out = append(out, dt)
		}
	}
	slices.Sort(out)
	return out
}

func (b *tableBatch[T]) rejectDTs() []string {
	out := make([]string, 0, len(b.rejects))
	for dt := range b.rejects {
		out = append(out, dt)
	}
	slices.Sort(out)
	return out
}

func (b *tableBatch[T]) writeRows(w io.Writer, dt string, withSource bool, opts parquetio.Options) (int, error) {
	p := b.parts[dt]
	src := p.src
	if !withSource {
		src = nil
	}
	return len(p.rows), b.writeFn(w, p.rows, src, opts)
}

func (b *tableBatch[T]) rowCount(dt string) int {
	if p := b.parts[dt]; p != nil {
		return len(p.rows)
	}
	return 0
}

func (b *tableBatch[T]) rejectCount(dt string) int { return len(b.rejects[dt]) }

func (b *tableBatch[T]) writeRejects(w io.Writer, dt string, opts parquetio.Options) (int, error) {
	rj := b.rejects[dt]
	return len(rj), parquetio.WriteRejected(w, rj, opts)
}

func (b *tableBatch[T]) quality() clean.TableQuality {
	q := b.c.Quality()
	q.Table(b.table).Merge(b.unpacked)
	return *q.Table(b.table)
}

// reset empties the batch, keeping the row buffers of the partitions seen
// (a partition left empty by one flush is dropped by the next). The
// Cleaner is replaced, so that quality counts the next flush alone.
func (b *tableBatch[T]) reset() {
	b.c = clean.New()
	b.unpacked = clean.TableQuality{}
	for dt, p := range b.parts {
		if len(p.rows) == 0 {
			delete(b.parts, dt)
			continue
		}
		clear(p.rows)
		p.rows, p.src = p.rows[:0], p.src[:0]
	}
	clear(b.rejects)
}

// addKinesis adds the user records of rec to b: rec itself, or those of a
// KPL-aggregated record; one that claims aggregation but does not unpack is
// rejected whole, with the reason of its error. It returns the user records
// added (a record rejected whole counts as one) and the blank ones.
func addKinesis(b batch, stream, shard string, rec kinesisx.Record, dropReject bool) (n, blanks int) {
	if !kinesisx.IsAggregated(rec.Data) { // the common case, without Deaggregate's slice
		if b.add(stream, shard, rec, dropReject) == blank {
			return 1, 1
		}
		return 1, 0
	}
	users, err := kinesisx.Deaggregate(rec)
	if err != nil {
		b.rejectWhole(stream, shard, rec, err, dropReject)
		return 1, 0
	}
	for _, u := range users {
		if b.add(stream, shard, u, dropReject) == blank {
			blanks++
		}
	}
	return len(users), blanks
}

// userRecords is the number of user records of rec, as addKinesis counts
// them: 1 unless rec is KPL-aggregated and unpacks.
func userRecords(rec kinesisx.Record) int {
	if !kinesisx.IsAggregated(rec.Data) {
		return 1
	}
	if users, err := kinesisx.Deaggregate(rec); err == nil {
		return len(users)
	}
	return 1
}

// kplRejected is the reject of a KPL-aggregated record that did not unpack
// (kinesisx.Deaggregate's err). Its raw text is the record in base64: it is
// binary, and kept whole (up to clean.MaxRawBytes) it can be unpacked by
// hand or put again.
func kplRejected(t clean.Table, err error, data []byte) clean.Rejected {
	reason := clean.ReasonKPLMalformed
	if errors.Is(err, kinesisx.ErrKPLChecksum) {
		reason = clean.ReasonKPLChecksum
	}
	return clean.NewRejected(t, &clean.RecordError{Table: t, Reason: reason, Detail: err.Error() + " (raw: the record in base64)"},
		[]byte(base64.StdEncoding.EncodeToString(data)))
}
