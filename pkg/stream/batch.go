package stream

import (
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
	// add cleans one record and keeps its row, or its reject unless
	// dropReject (the quarantine has it already); either way it is counted.
	add(stream, shard string, r kinesisx.Record, dropReject bool) addResult
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
	table   clean.Table
	c       *clean.Cleaner
	cleanFn func(*clean.Cleaner, []byte) (T, error)
	writeFn func(io.Writer, []T, []parquetio.Source, parquetio.Options) error
	parts   map[string]*part[T]
	rejects map[string][]parquetio.Rejected
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
		rj := parquetio.NewRejected(clean.NewRejected(b.table, err, r.Data))
		rj.Source, rj.Shard, rj.Sequence = stream, shard, r.Sequence
		if !dropReject {
			b.rejects[dt] = append(b.rejects[dt], rj)
		}
		return rejected
	}
	p := b.parts[dt]
	if p == nil {
		p = &part[T]{}
		b.parts[dt] = p
	}
	p.rows = append(p.rows, row)
	p.src = append(p.src, parquetio.Source{Shard: shard, Sequence: r.Sequence, ArrivalMicros: r.Arrival.UnixMicro()})
	return added
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
	return *q.Table(b.table)
}

// reset empties the batch, keeping the row buffers of the partitions seen
// (a partition left empty by one flush is dropped by the next). The
// Cleaner is replaced, so that quality counts the next flush alone.
func (b *tableBatch[T]) reset() {
	b.c = clean.New()
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
