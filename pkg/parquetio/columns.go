package parquetio

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/pinpipe/pinpipe/pkg/clean"
)

// encodings says how the top-level columns of a file are encoded; columns
// named in neither list get the writer's default (a dictionary, falling back
// to plain when it grows past the dictionary page size).
type encodings struct {
	// plain columns are written without a dictionary: they are unique, or
	// nearly, per row, where a dictionary costs time and often space.
	plain []string
	// dict columns (utf8) have few distinct values: they are handed to the
	// Parquet writer as Arrow dictionary arrays, built here with a Go map, so
	// that the writer takes the dictionary and the indices as they are
	// instead of hashing every value. The file is the same as with a
	// dictionary-encoded utf8 column (the stored Arrow schema says utf8).
	dict []string
	// nostats columns have no min/max statistics: nobody filters on them,
	// and for a dictionary array arrow-go finds the values the indices
	// use with a hash of every index.
	nostats []string
}

// columns holds the builders of one row group: a strBuilder for each
// utf8 column, a dictBuilder for the columns of encodings.dict, an Arrow
// builder for the others. They are reused from one row group to the next.
type columns struct {
	dense []array.Builder // nil at a utf8 column
	strs  []*strBuilder   // nil but at a plain utf8 column
	dicts []*dictBuilder  // nil but at a dictionary column
}

func newColumns(mem memory.Allocator, schema *arrow.Schema, dict []string) *columns {
	n := schema.NumFields()
	c := &columns{dense: make([]array.Builder, n), strs: make([]*strBuilder, n), dicts: make([]*dictBuilder, n)}
	for i, f := range schema.Fields() {
		switch {
		case f.Type.ID() != arrow.STRING:
			c.dense[i] = array.NewBuilder(mem, f.Type)
		case slices.Contains(dict, f.Name):
			c.dicts[i] = newDictBuilder(mem)
		default:
			c.strs[i] = &strBuilder{mem: mem}
		}
	}
	return c
}

func (c *columns) str(i int) *strBuilder            { return c.strs[i] }
func (c *columns) int64s(i int) *array.Int64Builder { return c.dense[i].(*array.Int64Builder) }
func (c *columns) int32s(i int) *array.Int32Builder { return c.dense[i].(*array.Int32Builder) }
func (c *columns) times(i int) *array.TimestampBuilder {
	return c.dense[i].(*array.TimestampBuilder)
}
func (c *columns) list(i int) *array.ListBuilder { return c.dense[i].(*array.ListBuilder) }
func (c *columns) dict(i int) *dictBuilder       { return c.dicts[i] }

// strAppender is a utf8 column builder, plain or dictionary.
type strAppender interface {
	Append(string)
	AppendNull()
}

// text returns the builder of utf8 column i, plain or dictionary.
func (c *columns) text(i int) strAppender {
	if d := c.dicts[i]; d != nil {
		return d
	}
	return c.strs[i]
}

// reserve makes room for n more rows in every column.
func (c *columns) reserve(n int) {
	for i, b := range c.dense {
		switch {
		case b != nil:
			b.Reserve(n)
		case c.strs[i] != nil:
			c.strs[i].Reserve(n)
		default:
			c.dicts[i].indices.Reserve(n)
		}
	}
}

// reserveData makes room for size more value bytes in utf8 column i; a
// dictionary column, which stores each distinct value once, ignores it.
func (c *columns) reserveData(i, size int) {
	if b := c.strs[i]; b != nil {
		b.ReserveData(size)
	}
}

// finish returns the arrays built since the last call, one per column, and
// resets the builders. The caller releases the arrays.
func (c *columns) finish() []arrow.Array {
	out := make([]arrow.Array, len(c.dense))
	for i, b := range c.dense {
		switch {
		case b != nil:
			out[i] = b.NewArray()
		case c.strs[i] != nil:
			out[i] = c.strs[i].newArray()
		default:
			out[i] = c.dicts[i].newArray()
		}
	}
	return out
}

func (c *columns) release() {
	for i, b := range c.dense {
		switch {
		case b != nil:
			b.Release()
		case c.strs[i] != nil:
			c.strs[i].release()
		default:
			c.dicts[i].release()
		}
	}
}

// strBuilder builds a utf8 array, as array.StringBuilder does with less
// work per value: the buffers are allocated at the size asked (Reserve,
// ReserveData) and not cleared a second time, Append writes the offset,
// validity bit and bytes directly, and an array without nulls gets no
// validity bitmap. It grows when asked for more than reserved.
type strBuilder struct {
	mem                  memory.Allocator
	valid, offsets, data *memory.Buffer // nil until first reserved
	bits                 []byte         // valid's memory
	offs                 []int32        // offsets' memory; offs[n] is the end of the bytes used
	bytes                []byte         // data's memory
	n, nulls             int
}

// Reserve makes room for rows more values.
func (b *strBuilder) Reserve(rows int) {
	if b.offsets == nil {
		b.offsets = memory.NewResizableBuffer(b.mem)
		b.valid = memory.NewResizableBuffer(b.mem)
		b.data = memory.NewResizableBuffer(b.mem)
		// Never a nil data slice, even when every value is "": arrow-go
		// takes nil bytes for no value and would drop the min/max "".
		b.data.Reserve(1)
		b.bytes = b.data.Buf()
	}
	need := b.n + rows
	if need+1 > len(b.offs) {
		b.offsets.Reserve((need + 1) * arrow.Int32SizeBytes)
		b.offs = arrow.Int32Traits.CastFromBytes(b.offsets.Buf())
		if b.n == 0 {
			b.offs[0] = 0
		}
	}
	if nb := int(bitutil.BytesForBits(int64(need))); nb > len(b.bits) {
		old := len(b.bits)
		b.valid.Reserve(nb)
		b.bits = b.valid.Buf()
		clear(b.bits[old:]) // the allocator need not zero memory
	}
}

// ReserveData makes room for size more bytes of values.
func (b *strBuilder) ReserveData(size int) {
	if b.offsets == nil {
		b.Reserve(0)
	}
	if used := int(b.offs[b.n]); used+size > len(b.bytes) {
		b.data.Reserve(used + size)
		b.bytes = b.data.Buf()
	}
}

// full reports whether there is no room for one more value.
func (b *strBuilder) full() bool { return b.n+1 >= len(b.offs) || b.n>>3 >= len(b.bits) }

// Append appends the value s.
func (b *strBuilder) Append(s string) {
	if b.full() {
		b.Reserve(max(b.n, 32))
	}
	start := int(b.offs[b.n])
	end := start + len(s)
	if end > len(b.bytes) {
		b.ReserveData(max(len(s), len(b.bytes)))
	}
	copy(b.bytes[start:end], s)
	b.bits[b.n>>3] |= 1 << (b.n & 7)
	b.n++
	b.offs[b.n] = int32(end)
}

// put appends s, a value or a null.
func (b *strBuilder) put(s clean.Str) {
	if s.Valid {
		b.Append(s.V)
	} else {
		b.AppendNull()
	}
}

// AppendNull appends a null.
func (b *strBuilder) AppendNull() {
	if b.full() {
		b.Reserve(max(b.n, 32))
	}
	b.offs[b.n+1] = b.offs[b.n]
	b.n++
	b.nulls++
}

// newArray returns the array of the values appended since the last call,
// and resets the builder.
func (b *strBuilder) newArray() arrow.Array {
	if b.offsets == nil {
		b.Reserve(0)
	}
	b.offsets.ResizeNoShrink((b.n + 1) * arrow.Int32SizeBytes)
	b.data.ResizeNoShrink(int(b.offs[b.n]))
	valid := b.valid
	if b.nulls == 0 {
		valid = nil
	} else {
		valid.ResizeNoShrink(int(bitutil.BytesForBits(int64(b.n))))
	}
	data := array.NewData(arrow.BinaryTypes.String, b.n, []*memory.Buffer{valid, b.offsets, b.data}, nil, b.nulls, 0)
	defer data.Release()
	b.release()
	*b = strBuilder{mem: b.mem}
	return array.NewStringData(data)
}

func (b *strBuilder) release() {
	for _, buf := range []*memory.Buffer{b.valid, b.offsets, b.data} {
		if buf != nil {
			buf.Release()
		}
	}
}

// stringDict is the type of the dictionary arrays of utf8 columns.
var stringDict = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// dictBuilder builds a dictionary<int32, utf8> array: the distinct values in
// the order of their first appearance (as the Parquet writer's own
// dictionary would have them) and one index per row, null for a null row.
type dictBuilder struct {
	mem     memory.Allocator
	indices *array.Int32Builder
	values  *array.StringBuilder
	index   map[string]int32 // value -> its index in values
}

func newDictBuilder(mem memory.Allocator) *dictBuilder {
	return &dictBuilder{
		mem:     mem,
		indices: array.NewInt32Builder(mem),
		values:  array.NewStringBuilder(mem),
		index:   make(map[string]int32),
	}
}

// Append appends the row value s.
func (d *dictBuilder) Append(s string) {
	i, ok := d.index[s]
	if !ok {
		i = int32(len(d.index))
		d.values.Append(s)
		d.index[s] = i
	}
	d.indices.Append(i)
}

// AppendNull appends a null row.
func (d *dictBuilder) AppendNull() { d.indices.AppendNull() }

// put appends s, a value or a null.
func (d *dictBuilder) put(s clean.Str) {
	if s.Valid {
		d.Append(s.V)
	} else {
		d.AppendNull()
	}
}

// newArray returns the array of the rows appended since the last call, and
// resets the builder. It is a dictionary array, unless a value is the empty
// string: then it is a plain utf8 array, because arrow-go (v18.8.0) leaves
// empty strings out of the min/max statistics of a dictionary array's
// column chunk, and a min of "" must not be lost.
func (d *dictBuilder) newArray() arrow.Array {
	_, hasEmpty := d.index[""]
	clear(d.index)
	indices := d.indices.NewInt32Array()
	defer indices.Release()
	values := d.values.NewStringArray()
	defer values.Release()
	if hasEmpty {
		return denseOf(d.mem, indices, values)
	}
	return array.NewDictionaryArray(stringDict, indices, values)
}

// denseOf returns the utf8 array of the dictionary indices and values.
func denseOf(mem memory.Allocator, indices *array.Int32, values *array.String) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(indices.Len())
	for i := range indices.Len() {
		if indices.IsNull(i) {
			b.AppendNull()
		} else {
			b.Append(values.Value(int(indices.Value(i))))
		}
	}
	return b.NewArray()
}

func (d *dictBuilder) release() {
	d.indices.Release()
	d.values.Release()
}
