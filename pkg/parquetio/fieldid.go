package parquetio

import (
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// FieldIDKey is the Arrow field metadata key of a column's Parquet field
// id, which Apache Iceberg readers use to find a table's columns in a file.
const FieldIDKey = "PARQUET:field_id"

// ColDT is the name of the partition date column of the files of an
// Iceberg table partitioned by day (Options.Date): date, non-null.
const ColDT = "dt"

// WithFieldIDs returns schema with a field id on every field, in the order
// iceberg-go assigns fresh ids to a new table's schema: depth first, a
// field, then the fields nested in it (a list's element), from 1. Every
// file this package writes carries them, so the same columns have the same
// ids in every file and in the table created from the file schema. A
// top-level field that has an id already keeps it (the ids the Iceberg spec
// reserves for the columns of position delete files).
func WithFieldIDs(schema *arrow.Schema) *arrow.Schema {
	fields := schema.Fields()
	next := 1
	out := make([]arrow.Field, len(fields))
	for i, f := range fields {
		if f.Metadata.FindKey(FieldIDKey) < 0 {
			f.Metadata = withID(f.Metadata, next)
		}
		next++
		if lt, ok := f.Type.(*arrow.ListType); ok {
			el := lt.ElemField()
			el.Metadata = withID(el.Metadata, next)
			next++
			f.Type = arrow.ListOfField(el)
		}
		out[i] = f
	}
	md := schema.Metadata()
	return arrow.NewSchema(out, &md)
}

func withID(md arrow.Metadata, id int) arrow.Metadata {
	keys, vals := []string{FieldIDKey}, []string{strconv.Itoa(id)}
	for i, k := range md.Keys() {
		if k != FieldIDKey {
			keys, vals = append(keys, k), append(vals, md.Values()[i])
		}
	}
	return arrow.NewMetadata(keys, vals)
}

// withDT returns schema with the partition date column appended.
func withDT(schema *arrow.Schema) *arrow.Schema {
	md := schema.Metadata()
	return arrow.NewSchema(append(schema.Fields(), required(ColDT, arrow.FixedWidthTypes.Date32)), &md)
}

// FileSchema is the schema of the files written with opts for the columns
// of schema: with the partition date column when opts.Date is set, and
// field ids.
func FileSchema(schema *arrow.Schema, opts Options) *arrow.Schema {
	if opts.Date != "" {
		schema = withDT(schema)
	}
	return WithFieldIDs(schema)
}

// parseDate parses Options.Date into days since the epoch.
func parseDate(s string) (arrow.Date32, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return 0, fmt.Errorf("%w: date %q: want YYYY-MM-DD", ErrOptions, s)
	}
	return arrow.Date32FromTime(t), nil
}

// appendDate appends n copies of d to the date builder b.
func appendDate(b array.Builder, d arrow.Date32, n int) {
	db := b.(*array.Date32Builder)
	db.Reserve(n)
	for range n {
		db.UnsafeAppend(d)
	}
}
