package parquetio

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Names of the origin columns of the batch job's clean tables.
const (
	ColOriginPartition = "source_partition"
	ColOriginOffset    = "source_offset"
	ColOriginObject    = "source_object"
)

// SameLine says whether o and p are the same Kafka record (partition and
// offset): only then does Less compare their objects.
func (o Origin) SameLine(p Origin) bool { return o.Partition == p.Partition && o.Offset == p.Offset }

// Origin is where the batch job found the row of an ind that won its
// de-duplication: the Kafka partition and offset of its line and the key of
// the landed object that held it. The clean tables keep it on every row, so
// that a later run applies the rule "last by (partition, offset), the greater
// key on an offset held by two objects" to the rows it reads without reading
// the objects of earlier runs again.
type Origin struct {
	Partition int32
	Offset    int64
	Object    string
}

// Less orders origins as the de-duplication rule does: by partition, then
// offset, then object key. The greater origin wins.
func (o Origin) Less(p Origin) bool {
	if o.Partition != p.Partition {
		return o.Partition < p.Partition
	}
	if o.Offset != p.Offset {
		return o.Offset < p.Offset
	}
	return o.Object < p.Object
}

// originFields are the origin columns, all non-null: source_partition int32,
// source_offset int64, source_object utf8.
func originFields() []arrow.Field {
	return []arrow.Field{
		required(ColOriginPartition, arrow.PrimitiveTypes.Int32),
		required(ColOriginOffset, arrow.PrimitiveTypes.Int64),
		required(ColOriginObject, arrow.BinaryTypes.String),
	}
}

// WithOrigins returns schema with the origin columns after its own: the
// columns of the files written with Options.Origins.
func WithOrigins(schema *arrow.Schema) *arrow.Schema {
	md := schema.Metadata()
	return arrow.NewSchema(append(schema.Fields(), originFields()...), &md)
}

// originEncodings: many rows of a file come from one object, so the object
// key is a dictionary; offsets are nearly unique. The object keys' min and
// max would be of no use, and arrow-go finds them by hashing every index
// (4% of the encoding of geo with its origins, BenchmarkWriteGeosWithOrigins).
var originEncodings = encodings{plain: []string{ColOriginOffset}, dict: []string{ColOriginObject}, nostats: []string{ColOriginObject}}

// putOrigins appends org to the three origin columns starting at column first.
func putOrigins(c *columns, first int, org []Origin) {
	part := c.int32s(first)
	off := c.int64s(first + 1)
	obj := c.dict(first + 2)
	for _, o := range org {
		part.Append(o.Partition)
		off.Append(o.Offset)
		obj.Append(o.Object)
	}
}

// getOrigins reads the three origin columns starting at column first.
func getOrigins(rec arrow.RecordBatch, first int, out []Origin) []Origin {
	part := rec.Column(first).(*array.Int32)
	off := rec.Column(first + 1).(*array.Int64)
	// The object column is never null in a file; all null, it was not read
	// (readRecords' only), and the objects are left "".
	if col := rec.Column(first + 2); col.NullN() == col.Len() {
		for i := range int(rec.NumRows()) {
			out = append(out, Origin{Partition: part.Value(i), Offset: off.Value(i)})
		}
		return out
	}
	obj := newStrCol(rec.Column(first + 2))
	for i := range int(rec.NumRows()) {
		out = append(out, Origin{Partition: part.Value(i), Offset: off.Value(i), Object: obj.value(i)})
	}
	return out
}

// withOrigins is the error of reading a state file of table: err, or
// ErrSchema when the file has no origins.
func withOrigins(table string, org []Origin, err error) error {
	if err == nil && org == nil {
		err = fmt.Errorf("%w: the %s file has no origin columns", ErrSchema, table)
	}
	return err
}

func checkOrigins(what string, rows int, org []Origin) error {
	if org != nil && len(org) != rows {
		return fmt.Errorf("writing %s: %d origins for %d rows, want one per row or nil", what, len(org), rows)
	}
	return nil
}
