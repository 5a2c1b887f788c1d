package parquetio

import (
	"bytes"
	"sync"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// TestPoolAllocator: buffers are zeroed and 64-byte aligned, of their
// class's capacity, reused once freed, and Reallocate keeps the contents
// and zeroes what it adds.
func TestPoolAllocator(t *testing.T) {
	p := &poolAllocator{}
	for _, size := range []int{0, 1, 63, 64, 65, 1000, 4096, 1 << 20, 3<<20 + 5} {
		b := p.Allocate(size)
		if len(b) != size || cap(b) != 1<<(poolClass(size)+poolMinShift) || cap(b) < size {
			t.Fatalf("Allocate(%d): len %d cap %d", size, len(b), cap(b))
		}
		if uintptr(unsafe.Pointer(unsafe.SliceData(b[:cap(b)])))%64 != 0 {
			t.Errorf("Allocate(%d) is not 64-byte aligned", size)
		}
		// A sync.Pool may drop what it is given (a collection; with -race,
		// a Put in four): free and allocate until the buffer comes back.
		reused := false
		for range 100 {
			for i := range b {
				b[i] = 0xff
			}
			p.Free(b)
			c := p.Allocate(size)
			if reused = unsafe.SliceData(c[:cap(c)]) == unsafe.SliceData(b[:cap(b)]); reused {
				if !allZero(c) {
					t.Errorf("Allocate(%d) after a Free: not zeroed", size)
				}
				p.Free(c)
				break
			}
			b = c
		}
		if !reused {
			t.Errorf("Allocate(%d): a freed buffer never came back in 100 tries", size)
		}
	}

	b := p.Allocate(100)
	copy(b, "contents")
	b = p.Reallocate(110, b[:8]) // within the capacity: the added bytes zeroed
	if string(b[:8]) != "contents" || !allZero(b[8:]) || len(b) != 110 {
		t.Errorf("Reallocate within the capacity: %q", b[:12])
	}
	b[109] = 1
	b = p.Reallocate(5000, b) // moved
	if len(b) != 5000 || string(b[:8]) != "contents" || b[109] != 1 || !allZero(b[110:]) {
		t.Errorf("Reallocate to a larger class: contents not kept or new bytes not zero")
	}
	p.Free(b)

	big := p.Allocate(128 << 20) // beyond the classes: not pooled
	if len(big) != 128<<20 {
		t.Errorf("Allocate(128 MiB): len %d", len(big))
	}
	p.Free(big)
	p.Free(make([]byte, 100)) // not of a class: ignored
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// TestPoolWritesSameBytes: files written with the pooled builders (no
// Options.Allocator), while other files are written at the same time and
// their released buffers reused, are byte for byte those written with
// fresh memory, over many row groups of every clean table with origins.
func TestPoolWritesSameBytes(t *testing.T) {
	const n = 5000
	pins, geos, users := benchPins(n), benchGeos(n), benchUsers(n)
	for i := range pins {
		if i%7 == 0 {
			pins[i].Title = clean.Str{}
			geos[i].Country = clean.Str{}
			users[i].Age = clean.Int32{}
		}
	}
	org := benchOrigins(n)
	writes := []func(mem memory.Allocator) ([]byte, error){
		func(mem memory.Allocator) ([]byte, error) {
			var buf bytes.Buffer
			err := WritePins(&buf, pins, nil, Options{Allocator: mem, RowGroupRows: 700, Origins: org})
			return buf.Bytes(), err
		},
		func(mem memory.Allocator) ([]byte, error) {
			var buf bytes.Buffer
			err := WriteGeos(&buf, geos, nil, Options{Allocator: mem, RowGroupRows: 900, Origins: org})
			return buf.Bytes(), err
		},
		func(mem memory.Allocator) ([]byte, error) {
			var buf bytes.Buffer
			err := WriteUsers(&buf, users, testSources(n), Options{Allocator: mem, RowGroupRows: 1100, Date: "2026-11-24"})
			return buf.Bytes(), err
		},
	}
	want := make([][]byte, len(writes))
	for i, w := range writes {
		var err error
		if want[i], err = w(memory.NewGoAllocator()); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for round := range 4 {
		for i, w := range writes {
			wg.Go(func() {
				got, err := w(nil)
				if err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(got, want[i]) {
					t.Errorf("round %d, file %d: written with the pool, the bytes differ from fresh memory's", round, i)
				}
			})
		}
	}
	wg.Wait()
}
