package batch

import (
	"slices"
	"sync"
	"sync/atomic"
)

// pos orders the rows of one topic: by partition, then offset. Two objects
// that hold the same offset (overlapping landings) are ordered by key: obj is
// the object's number in the listing, which gives its key back.
type pos struct {
	partition int32
	obj       int32
	offset    int64
}

func (a pos) less(b pos, key func(int32) string) bool {
	if a.partition != b.partition {
		return a.partition < b.partition
	}
	if a.offset != b.offset {
		return a.offset < b.offset
	}
	return a.obj != b.obj && key(a.obj) < key(b.obj)
}

// segBits sets the number of rows of one segment of a dedup.
const segBits = 13

// dedup keeps the last row of every ind. Row j of the distinct inds lives in
// segment j>>segBits; a later row of the same ind overwrites it in place, so
// memory grows with the distinct inds, not with the lines read, and storage
// grows by segments without copying. Safe for concurrent use.
type dedup[R any] struct {
	ind func(*R) int64
	key func(obj int32) string // the key of an object, for pos.less

	mu       sync.Mutex
	segs     []*segment[R]
	idx      indTable // ind -> row number
	n        int32    // rows kept
	accepted int64    // rows offered, duplicates included

	// duplicated is set, for good, once at least minDupRows rows have been
	// offered and fewer than half of them are kept.
	duplicated atomic.Bool
}

// minDupRows is the number of rows a dedup must be offered before it judges
// whether its input is mostly duplicates.
const minDupRows = 1 << 14

// mostlyDuplicates reports whether fewer than half of the rows offered so far
// were kept (once enough have been offered to tell). Safe to call at any
// time, without the lock.
func (d *dedup[R]) mostlyDuplicates() bool { return d.duplicated.Load() }

type segment[R any] struct {
	rows [1 << segBits]R
	at   [1 << segBits]pos
	ind  [1 << segBits]int64
}

func newDedup[R any](ind func(*R) int64, key func(obj int32) string) *dedup[R] {
	return &dedup[R]{ind: ind, key: key, idx: newIndTable(1 << segBits)}
}

// add offers rows found in obj at the lines ks. rows is copied: the caller
// may reuse it.
func (d *dedup[R]) add(rows []R, ks []int64, obj object) {
	if len(rows) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.accepted += int64(len(rows))
	for i := range rows {
		r := &rows[i]
		id := d.ind(r)
		k := pos{obj.partition, obj.id, obj.start + ks[i]}
		j, added := d.idx.insert(id, d.n)
		if added {
			d.n++
			if int(j>>segBits) == len(d.segs) {
				d.segs = append(d.segs, new(segment[R]))
			}
			s, o := d.segs[j>>segBits], j&(1<<segBits-1)
			s.rows[o], s.at[o], s.ind[o] = *r, k, id
			continue
		}
		s, o := d.segs[j>>segBits], j&(1<<segBits-1)
		if s.at[o].less(k, d.key) {
			s.rows[o], s.at[o] = *r, k
		}
	}
	if d.accepted >= minDupRows && d.accepted > 2*int64(d.n) && !d.duplicated.Load() {
		d.duplicated.Store(true)
	}
}

// sorted returns the kept rows and their positions ordered by bucket (of
// bucket, nb buckets), then ind, the bounds of the buckets (bucket b is
// rows[bounds[b]:bounds[b+1]]) and the number of dropped duplicates, and
// releases its storage. The rows are moved by workers goroutines.
func (d *dedup[R]) sorted(workers int, bucket func(int64) int32, nb int) (rows []R, at []pos, bounds []int, dups int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.idx = indTable{} // large: let it go before the output is allocated
	// The entries are made segment by segment, in the order the rows are
	// stored, each with its bucket: read in ind order instead, the rows'
	// inds are a cache miss each (a million rows: 0.1-0.5 s).
	order := make([]sortEntry, d.n)
	d.bySegment(workers, func(s *segment[R], base, n int) {
		for o := range n {
			ind := s.ind[o]
			order[base+o] = sortEntry{uint64(ind) ^ 1<<63, int32(base + o), bucket(ind)} // signed order as unsigned
		}
	})
	radixSort(order)
	// Then a stable counting sort by bucket: by bucket, then ind.
	bounds = make([]int, nb+1)
	for _, e := range order {
		bounds[e.bucket+1]++
	}
	for b := range nb {
		bounds[b+1] += bounds[b]
	}
	// rank[j] is the output position of row j. The rows are moved segment
	// by segment, each segment released once moved, so that the collector
	// can reuse its memory while the output fills.
	rank := make([]int32, d.n)
	next := slices.Clone(bounds[:nb])
	for _, e := range order {
		rank[e.j] = int32(next[e.bucket])
		next[e.bucket]++
	}
	order = nil
	rows = make([]R, d.n)
	at = make([]pos, d.n)
	d.bySegment(workers, func(s *segment[R], base, n int) {
		for o := range n {
			r := rank[base+o]
			rows[r], at[r] = s.rows[o], s.at[o]
		}
		d.segs[base>>segBits] = nil
	})
	dups = d.accepted - int64(len(rows))
	d.segs, d.n = nil, 0
	return rows, at, bounds, dups
}

// bySegment calls f with every segment, the row number of its first row
// and its rows, workers goroutines at a time, each taking every workers-th
// segment.
func (d *dedup[R]) bySegment(workers int, f func(s *segment[R], base, n int)) {
	workers = max(workers, 1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for si := w; si < len(d.segs); si += workers {
				base := si << segBits
				f(d.segs[si], base, min(1<<segBits, int(d.n)-base))
			}
		})
	}
	wg.Wait()
}

// sortEntry is a row number j, its sort key and its bucket (in what would
// be padding).
type sortEntry struct {
	key    uint64
	j      int32
	bucket int32
}

// radixSort sorts es by key, stably: a least-significant-digit radix sort of
// bytes that skips the bytes all keys share (inds are small numbers: most of
// their eight bytes are the same in every key).
func radixSort(es []sortEntry) {
	if len(es) < 2 {
		return
	}
	buf := make([]sortEntry, len(es))
	src, dst := es, buf
	for shift := uint(0); shift < 64; shift += 8 {
		var count [256]int
		for i := range src {
			count[byte(src[i].key>>shift)]++
		}
		if count[byte(src[0].key>>shift)] == len(src) {
			continue // every key has this byte
		}
		sum := 0
		for b, c := range count {
			count[b] = sum
			sum += c
		}
		for _, e := range src {
			b := byte(e.key >> shift)
			dst[count[b]] = e
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &es[0] {
		copy(es, src)
	}
}

// indTable maps inds to row numbers. It is a hash table with open addressing
// and linear probing over one flat slice without pointers (the GC does not
// scan it, and growing it copies no pointers), grown when 3/4 full: about
// three times as fast as a Go map here, where every row looks its ind up.
type indTable struct {
	slots []indSlot // len is a power of two
	shift uint8     // 64 - log2(len(slots))
	n     int
}

type indSlot struct {
	ind int64
	j   int32 // row number + 1; 0: empty
}

func newIndTable(size int) indTable {
	bits := uint8(4)
	for 1<<bits < size {
		bits++
	}
	return indTable{slots: make([]indSlot, 1<<bits), shift: 64 - bits}
}

func (t *indTable) home(ind int64) int {
	return int((uint64(ind) * 0x9E3779B97F4A7C15) >> t.shift) // Fibonacci hashing
}

// insert returns the row number of ind, adding it as row j when it is new
// (added is then true).
func (t *indTable) insert(ind int64, j int32) (row int32, added bool) {
	if 4*(t.n+1) > 3*len(t.slots) {
		t.grow()
	}
	mask := len(t.slots) - 1
	for i := t.home(ind); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.j == 0 {
			s.ind, s.j = ind, j+1
			t.n++
			return j, true
		}
		if s.ind == ind {
			return s.j - 1, false
		}
	}
}

func (t *indTable) grow() {
	old := t.slots
	*t = newIndTable(2 * len(old))
	mask := len(t.slots) - 1
	for _, s := range old {
		if s.j == 0 {
			continue
		}
		i := t.home(s.ind)
		for t.slots[i].j != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
		t.n++
	}
}
