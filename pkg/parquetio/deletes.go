package parquetio

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
)

// Iceberg position delete files. Such a file lists rows of a table's data
// files that are deleted: (file_path, pos), pos the 0-based row number in
// the file. Readers that follow the Iceberg spec (v2) leave those rows out.
// The columns' field ids are reserved by the spec.
const (
	ColDeleteFilePath = "file_path"
	ColDeletePos      = "pos"

	fieldIDDeleteFilePath = 2147483546
	fieldIDDeletePos      = 2147483545
)

// PosDelete is one deleted row: row Pos (from 0) of the data file at Path.
type PosDelete struct {
	Path string
	Pos  int64
}

// posDeleteSchema is the schema of a position delete file, with the field
// ids the Iceberg spec reserves.
func posDeleteSchema() *arrow.Schema {
	id := func(n int) arrow.Metadata { return arrow.NewMetadata([]string{FieldIDKey}, []string{strconv.Itoa(n)}) }
	return arrow.NewSchema([]arrow.Field{
		{Name: ColDeleteFilePath, Type: arrow.BinaryTypes.String, Metadata: id(fieldIDDeleteFilePath)},
		{Name: ColDeletePos, Type: arrow.PrimitiveTypes.Int64, Metadata: id(fieldIDDeletePos)},
	}, nil)
}

// WritePosDeletes writes dels as an Iceberg position delete file, sorted by
// path, then position, as the spec requires (dels is sorted in place). w is
// not closed.
func WritePosDeletes(w io.Writer, dels []PosDelete, opts Options) error {
	if opts.Date != "" || opts.Origins != nil {
		return fmt.Errorf("%w: a position delete file has no date or origin columns", ErrOptions)
	}
	slices.SortFunc(dels, func(a, b PosDelete) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(a.Pos, b.Pos))
	})
	// A file deletes rows of a few data files: the paths are a dictionary.
	enc := encodings{plain: []string{ColDeletePos}, dict: []string{ColDeleteFilePath}}
	err := writeChunked(w, posDeleteSchema(), len(dels), opts, enc, func(c *columns, lo, hi int) {
		path := c.text(0)
		pos := c.int64s(1)
		for _, d := range dels[lo:hi] {
			path.Append(d.Path)
			pos.Append(d.Pos)
		}
	})
	if err != nil {
		return fmt.Errorf("writing position deletes: %w", err)
	}
	return nil
}

// ReadPosDeletes reads an Iceberg position delete file of the columns
// file_path and pos (one with other columns, such as the deleted rows, is
// refused).
func ReadPosDeletes(r parquet.ReaderAtSeeker) ([]PosDelete, error) {
	var out []PosDelete
	schema := func(bool) *arrow.Schema { return posDeleteSchema() }
	_, err := readRecords(r, memory.DefaultAllocator, "position delete", schema, nil, func(rec arrow.RecordBatch, x extra) error {
		if out == nil {
			out = make([]PosDelete, 0, x.rows)
		}
		path := newStrCol(rec.Column(0))
		pos := rec.Column(1).(*array.Int64)
		for i := range int(rec.NumRows()) {
			out = append(out, PosDelete{Path: path.value(i), Pos: pos.Value(i)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading position deletes: %w", err)
	}
	return out, nil
}
