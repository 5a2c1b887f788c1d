package batch

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIndTable checks the table against a Go map over inds that collide on
// purpose (multiples of a power of two, negative ones, repeats) through
// several growths.
func TestIndTable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tab := newIndTable(1)
	want := map[int64]int32{}
	for i := range 200_000 {
		var ind int64
		switch i % 4 {
		case 0:
			ind = int64(r.IntN(50_000)) << 20 // same low bits
		case 1:
			ind = -int64(r.IntN(1000))
		case 2:
			ind = int64(r.Uint64())
		default:
			ind = int64(r.IntN(100_000))
		}
		next := int32(len(want))
		got, added := tab.insert(ind, next)
		w, seen := want[ind]
		if !seen {
			want[ind] = next
			w = next
		}
		if added == seen || got != w {
			t.Fatalf("insert(%d, %d) = %d, %v; want %d, %v", ind, next, got, added, w, !seen)
		}
	}
	if tab.n != len(want) {
		t.Fatalf("table holds %d inds, want %d", tab.n, len(want))
	}
	for ind, w := range want {
		if got, added := tab.insert(ind, -1); added || got != w {
			t.Fatalf("lookup %d = %d, %v; want %d", ind, got, added, w)
		}
	}
}

// TestRadixSort checks radixSort against the standard library's sort, with
// keys that share bytes, differ only in high bytes, and repeat.
func TestRadixSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 100, 10_000} {
		for _, gen := range []func() uint64{
			func() uint64 { return r.Uint64() },
			func() uint64 { return uint64(r.IntN(1000)) },
			func() uint64 { return uint64(r.IntN(50)) << 56 },
			func() uint64 { return 1<<63 ^ uint64(int64(r.IntN(2000)-1000)) },
		} {
			es := make([]sortEntry, n)
			for i := range es {
				es[i] = sortEntry{key: gen(), j: int32(i)}
			}
			want := slices.Clone(es)
			slices.SortStableFunc(want, func(a, b sortEntry) int { return cmp.Compare(a.key, b.key) })
			radixSort(es)
			if !slices.Equal(es, want) {
				t.Fatalf("n=%d: radixSort differs from a stable sort", n)
			}
		}
	}
}
