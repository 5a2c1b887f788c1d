package parquetio

import (
	"fmt"
	"io"
	"slices"
	"strconv"

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
	if err := opts.Validate(); err != nil {
		return err
	}
	o := opts.withDefaults()
	if o.Date != "" || o.Origins != nil {
		return fmt.Errorf("%w: a position delete file has no date or origin columns", ErrOptions)
	}
	slices.SortFunc(dels, func(a, b PosDelete) int {
		if a.Path != b.Path {
			if a.Path < b.Path {
				return -1
			}
			return 1
		}
		return int(min(max(a.Pos-b.Pos, -1), 1))
	})
	schema := posDeleteSchema()
	fw, err := newFileWriter(w, schema, o, encodings{plain: []string{ColDeletePos}, dict: nil})
	if err != nil {
		return err
	}
	for lo := 0; lo < len(dels); lo += o.RowGroupRows {
		hi := min(lo+o.RowGroupRows, len(dels))
		paths := array.NewStringBuilder(o.Allocator)
		pos := array.NewInt64Builder(o.Allocator)
		for _, d := range dels[lo:hi] {
			paths.Append(d.Path)
			pos.Append(d.Pos)
		}
		arrs := []arrow.Array{paths.NewArray(), pos.NewArray()}
		paths.Release()
		pos.Release()
		err := writeRowGroup(fw, arrs)
		for _, a := range arrs {
			a.Release()
		}
		if err != nil {
			fw.Close()
			return fmt.Errorf("writing position deletes %d to %d: %w", lo, hi, err)
		}
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("closing parquet writer: %w", err)
	}
	return nil
}

// ReadPosDeletes reads an Iceberg position delete file (its file_path and
// pos columns; others, such as a deleted row, are ignored).
func ReadPosDeletes(r parquet.ReaderAtSeeker) ([]PosDelete, error) {
	var out []PosDelete
	err := readColumnsNamed(r, "position delete", []string{ColDeleteFilePath, ColDeletePos}, func(rec arrow.RecordBatch) error {
		path, ok1 := rec.Column(0).(*array.String)
		pos, ok2 := rec.Column(1).(*array.Int64)
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: position delete file: want %s string and %s int64, have %s", ErrSchema,
				ColDeleteFilePath, ColDeletePos, describe(rec.Schema()))
		}
		for i := range int(rec.NumRows()) {
			out = append(out, PosDelete{Path: path.Value(i), Pos: pos.Value(i)})
		}
		return nil
	})
	return out, err
}

// readColumnsNamed reads the top-level columns named (of primitive types) of
// a file, in that order, and calls each for every record batch of them,
// which is released after each returns.
func readColumnsNamed(r parquet.ReaderAtSeeker, what string, names []string, each func(arrow.RecordBatch) error) error {
	fr, err := openReader(r, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	descr := fr.ParquetReader().MetaData().Schema
	cols := make([]int, len(names))
	for i, name := range names {
		cols[i] = descr.ColumnIndexByName(name)
		if cols[i] < 0 {
			return fmt.Errorf("%w: %s file has no column %s", ErrSchema, what, name)
		}
	}
	if fr.ParquetReader().NumRowGroups() == 0 {
		return nil
	}
	rr, err := fr.GetRecordReader(contextBackground(), cols, nil)
	if err != nil {
		return fmt.Errorf("reading %s file: %w", what, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		// The reader orders the columns as the file does.
		idx := make([]int, len(names))
		for i, name := range names {
			j := rec.Schema().FieldIndices(name)
			if len(j) != 1 {
				return fmt.Errorf("%w: %s file has no column %s", ErrSchema, what, name)
			}
			idx[i] = j[0]
		}
		arrs := make([]arrow.Array, len(names))
		fields := make([]arrow.Field, len(names))
		for i, j := range idx {
			arrs[i], fields[i] = rec.Column(j), rec.Schema().Field(j)
		}
		sub := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, rec.NumRows())
		err := each(sub)
		sub.Release()
		if err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("reading %s file: %w", what, err)
	}
	return nil
}
