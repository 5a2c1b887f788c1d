package parquetio

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/pinpipe/pinpipe/pkg/clean"
)

// ErrSchema is returned (wrapped) when a file does not have the columns of
// the table it is read as.
var ErrSchema = errors.New("parquetio: unexpected schema")

// readBatchRows is the number of rows decoded at a time when reading rows.
const readBatchRows = 64 * 1024

// contextBackground is the context of reads: reading from an io.ReaderAt
// cannot be cancelled.
func contextBackground() context.Context { return context.Background() }

// openReader opens a Parquet file for reading as Arrow. The reader is not
// closed: its owner closes r.
func openReader(r parquet.ReaderAtSeeker, mem memory.Allocator) (*pqarrow.FileReader, error) {
	pf, err := file.NewParquetReader(r, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return nil, fmt.Errorf("opening parquet file: %w", err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: readBatchRows}, mem)
	if err != nil {
		return nil, fmt.Errorf("reading parquet schema: %w", err)
	}
	return fr, nil
}

// compatible reports whether a column of type got can be read as want. Lists
// compare their element types only (other writers name and null their list
// elements differently).
func compatible(got, want arrow.DataType) bool {
	if gl, ok := got.(*arrow.ListType); ok {
		wl, ok := want.(*arrow.ListType)
		return ok && arrow.TypeEqual(gl.Elem(), wl.Elem())
	}
	return arrow.TypeEqual(got, want)
}

// matches reports whether schema got has the column names and types of
// want, and maybe the partition date column of a table by day after them
// (Options.Date), which the readers leave out.
func matches(got, want *arrow.Schema) bool {
	if n := got.NumFields(); n == want.NumFields()+1 {
		last := got.Field(n - 1)
		if last.Name != ColDT || last.Type.ID() != arrow.DATE32 {
			return false
		}
	} else if n != want.NumFields() {
		return false
	}
	for i, f := range want.Fields() {
		g := got.Field(i)
		if g.Name != f.Name || !compatible(g.Type, f.Type) {
			return false
		}
	}
	return true
}

// describe lists the columns of s as "name type, ...".
func describe(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name + " " + f.Type.String()
	}
	return strings.Join(parts, ", ")
}

// readRecords reads a file of the schema want(false), or want(true) when it
// carries source columns, and calls each for every record batch. The record
// is released after each returns.
//
// A file with the origin columns (Options.Origins) after want(false)'s is
// read too; hasOrigins then says so, and each is told.
//
// only, when not nil, names the columns to read: the others are not
// decoded, and each sees them as all null (and no extra columns, but the
// origins when only names their partition and offset columns).
func readRecords(r parquet.ReaderAtSeeker, mem memory.Allocator, what string, want func(withSource bool) *arrow.Schema,
	only []string, each func(rec arrow.RecordBatch, x extra) error) (x extra, err error) {
	fr, err := openReader(r, mem)
	if err != nil {
		return x, err
	}
	sc, err := fr.Schema()
	if err != nil {
		return x, fmt.Errorf("reading arrow schema: %w", err)
	}
	switch {
	case matches(sc, want(false)):
	case matches(sc, want(true)):
		x.sources = true
	case matches(sc, WithOrigins(want(false))):
		x.origins = true
	default:
		return x, fmt.Errorf("%w: %s file has columns (%s), want (%s)", ErrSchema, what, describe(sc), describe(want(false)))
	}
	if fr.ParquetReader().NumRowGroups() == 0 {
		return x, nil
	}
	rows := int(fr.ParquetReader().NumRows())
	var cols []int // leaf columns to read; nil: all
	if only != nil {
		// The origins are read when only names their partition and offset
		// (and their objects when it names that column too).
		x = extra{origins: x.origins && slices.Contains(only, ColOriginPartition) && slices.Contains(only, ColOriginOffset)}
		for _, name := range only {
			if len(sc.FieldIndices(name)) != 1 {
				return x, fmt.Errorf("%w: %s file has no column %s", ErrSchema, what, name)
			}
		}
		descr := fr.ParquetReader().MetaData().Schema
		for i := range descr.NumColumns() {
			if slices.Contains(only, descr.ColumnRoot(i).Name()) {
				cols = append(cols, i)
			}
		}
	}
	x.rows = rows
	rr, err := fr.GetRecordReader(contextBackground(), cols, nil)
	if err != nil {
		return x, fmt.Errorf("reading %s rows: %w", what, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		if only != nil {
			rec = widen(mem, sc, rec)
		}
		err := each(rec, x)
		if only != nil {
			rec.Release()
		}
		if err != nil {
			return x, err
		}
	}
	if err := rr.Err(); err != nil {
		return x, fmt.Errorf("reading %s rows: %w", what, err)
	}
	return x, nil
}

// widen returns rec, a record of some of the columns of schema, as a record
// of schema, the columns it lacks all null. The caller releases it.
func widen(mem memory.Allocator, schema *arrow.Schema, rec arrow.RecordBatch) arrow.RecordBatch {
	n := int(rec.NumRows())
	cols := make([]arrow.Array, schema.NumFields())
	for i, f := range schema.Fields() {
		if j := rec.Schema().FieldIndices(f.Name); len(j) == 1 {
			cols[i] = rec.Column(j[0])
			cols[i].Retain()
		} else {
			cols[i] = array.MakeArrayOfNull(mem, f.Type, n)
		}
	}
	out := array.NewRecordBatch(schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return out
}

// extra says which columns a file has after its table's own.
type extra struct {
	sources bool // the stream job's source columns
	origins bool // the batch job's origin columns
	rows    int  // the file's rows (a capacity hint)
}

// Column accessors. Strings are copied out of Arrow buffers, which are freed
// when the record is released.

// strCol reads a utf8 column. Its values are copied to Go memory in one
// allocation, and the strings returned share it.
type strCol struct {
	a    *array.String
	offs []int32
	data string
}

func newStrCol(col arrow.Array) strCol {
	a := col.(*array.String)
	if a.Len() == 0 {
		return strCol{a: a}
	}
	return strCol{a: a, offs: a.ValueOffsets(), data: string(a.ValueBytes())}
}

// value is the value of row i ("" when null).
func (c strCol) value(i int) string {
	base := c.offs[0]
	return c.data[c.offs[i]-base : c.offs[i+1]-base]
}

func (c strCol) get(i int) clean.Str {
	if c.a.IsNull(i) {
		return clean.Str{}
	}
	return clean.Str{V: c.value(i), Valid: true}
}

func getInt64(a *array.Int64, i int) clean.Int64 {
	if a.IsNull(i) {
		return clean.Int64{}
	}
	return clean.Int64{V: a.Value(i), Valid: true}
}

func getInt32(a *array.Int32, i int) clean.Int32 {
	if a.IsNull(i) {
		return clean.Int32{}
	}
	return clean.Int32{V: a.Value(i), Valid: true}
}

func getTime(a *array.Timestamp, i int) clean.Time {
	if a.IsNull(i) {
		return clean.Time{}
	}
	return clean.Time{Micros: int64(a.Value(i)), Valid: true}
}

// getCoords reads a list<float64> of exactly two non-null values.
func getCoords(a *array.List, i int) (clean.Coords, error) {
	if a.IsNull(i) {
		return clean.Coords{}, nil
	}
	lo, hi := a.ValueOffsets(i)
	vals := a.ListValues().(*array.Float64)
	if hi-lo != 2 || vals.IsNull(int(lo)) || vals.IsNull(int(lo)+1) {
		return clean.Coords{}, fmt.Errorf("coordinates: want [latitude, longitude], got %d values", hi-lo)
	}
	return clean.Coords{Lat: vals.Value(int(lo)), Lon: vals.Value(int(lo) + 1), Valid: true}, nil
}

// getSources reads the three source columns starting at column first.
func getSources(rec arrow.RecordBatch, first int, out []Source) []Source {
	shard := newStrCol(rec.Column(first))
	seq := newStrCol(rec.Column(first + 1))
	arrival := rec.Column(first + 2).(*array.Timestamp)
	for i := range int(rec.NumRows()) {
		out = append(out, Source{
			Shard:         shard.value(i),
			Sequence:      seq.value(i),
			ArrivalMicros: int64(arrival.Value(i)),
		})
	}
	return out
}
