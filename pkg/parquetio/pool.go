package parquetio

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// builderPool allocates the buffers of the column builders of the files
// written with no Options.Allocator (writeChunked). A row group's arrays are
// released once written, and their buffers come back here to be reused by
// the next row group or file, instead of being garbage: a full run writes a
// million posts' rows, and the collector, paced by the rows held for the
// write, would let the builders' buffers of every row group pile up until
// the write ends (hundreds of MiB of peak RSS, and the page faults to
// touch them).
//
// Only the builders' arrays use it: they are the writer's input, released
// (reference counts reaching zero) after writeRowGroup returns, and the
// Parquet writer copies what it keeps of them (encoded pages, statistics,
// dictionary values). The Parquet writer's own buffers come from
// memory.DefaultAllocator.
var builderPool memory.Allocator = &poolAllocator{}

// poolAllocator is a memory.Allocator that keeps freed buffers, by size
// class (powers of two from 64 bytes to 64 MiB), for later allocations.
// Like memory.GoAllocator, it returns zeroed, 64-byte aligned memory.
type poolAllocator struct {
	classes [poolClasses]sync.Pool // of *[]byte, of cap 64<<class
}

const (
	poolMinShift = 6  // the smallest class: 64 bytes, Arrow's alignment
	poolClasses  = 21 // the largest: 64 MiB; larger buffers are not kept
)

// poolClass returns the class of a buffer of size bytes.
func poolClass(size int) int {
	if size <= 1<<poolMinShift {
		return 0
	}
	return bits.Len(uint(size-1)) - poolMinShift
}

// Allocate returns size zeroed bytes, of capacity the size of their class.
func (p *poolAllocator) Allocate(size int) []byte {
	c := poolClass(size)
	if c >= poolClasses {
		return memory.DefaultAllocator.Allocate(size)
	}
	if v, ok := p.classes[c].Get().(*[]byte); ok {
		b := (*v)[:size]
		clear(b)
		return b
	}
	n := 1 << (c + poolMinShift)
	raw := make([]byte, n+64)
	shift := int(-uintptr(unsafe.Pointer(unsafe.SliceData(raw)))) & 63
	return raw[shift : shift+size : shift+n]
}

// Reallocate returns b resized to size bytes, its contents kept and any new
// bytes zeroed; b is freed when it moves.
func (p *poolAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free keeps b for reuse, if it is of one of the classes.
func (p *poolAllocator) Free(b []byte) {
	n := cap(b)
	c := poolClass(n)
	if c >= poolClasses || n != 1<<(c+poolMinShift) {
		return // a large buffer, left to the collector
	}
	b = b[:n]
	p.classes[c].Put(&b)
}
