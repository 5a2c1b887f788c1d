package batch

import (
	"cmp"
	"slices"
	"sync"
)

// pos orders the rows of one topic: by partition, then offset; seq (the
// object's position in the sorted listing) only breaks the tie of two objects
// that hold the same offset.
type pos struct {
	partition int32
	seq       int32
	offset    int64
}

func (a pos) less(b pos) bool {
	if a.partition != b.partition {
		return a.partition < b.partition
	}
	if a.offset != b.offset {
		return a.offset < b.offset
	}
	return a.seq < b.seq
}

// segBits sets the number of rows of one segment of a dedup.
const segBits = 13

// dedup keeps the last row of every ind. Row j of the distinct inds lives in
// segment j>>segBits; a later row of the same ind overwrites it in place, so
// memory grows with the distinct inds, not with the lines read, and storage
// grows by segments without copying. Safe for concurrent use.
type dedup[R any] struct {
	ind func(*R) int64

	mu       sync.Mutex
	segs     []*segment[R]
	idx      map[int64]int32 // ind -> row number
	n        int32           // rows kept
	accepted int64           // rows offered, duplicates included
}

type segment[R any] struct {
	rows [1 << segBits]R
	at   [1 << segBits]pos
	ind  [1 << segBits]int64
}

func newDedup[R any](ind func(*R) int64) *dedup[R] {
	return &dedup[R]{ind: ind, idx: make(map[int64]int32, 1<<segBits)}
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
		k := pos{obj.partition, obj.seq, obj.start + ks[i]}
		j, ok := d.idx[id]
		if !ok {
			j = d.n
			d.n++
			if int(j>>segBits) == len(d.segs) {
				d.segs = append(d.segs, new(segment[R]))
			}
			d.idx[id] = j
			s, o := d.segs[j>>segBits], j&(1<<segBits-1)
			s.rows[o], s.at[o], s.ind[o] = *r, k, id
			continue
		}
		s, o := d.segs[j>>segBits], j&(1<<segBits-1)
		if s.at[o].less(k) {
			s.rows[o], s.at[o] = *r, k
		}
	}
}

// sorted returns the kept rows sorted by ind and the number of dropped
// duplicates, and releases its storage.
func (d *dedup[R]) sorted() ([]R, int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.idx = nil // large: let it go before the output is allocated
	type entry struct {
		ind int64
		j   int32
	}
	order := make([]entry, d.n)
	for j := range order {
		s, o := d.segs[j>>segBits], j&(1<<segBits-1)
		order[j] = entry{s.ind[o], int32(j)}
	}
	slices.SortFunc(order, func(a, b entry) int { return cmp.Compare(a.ind, b.ind) })
	// rank[j] is the output index of row j. Rows are moved segment by
	// segment, each released once moved.
	rank := make([]int32, d.n)
	for i, e := range order {
		rank[e.j] = int32(i)
	}
	rows := make([]R, d.n)
	for si, s := range d.segs {
		base := si << segBits
		for o := range min(1<<segBits, int(d.n)-base) {
			rows[rank[base+o]] = s.rows[o]
		}
		d.segs[si] = nil
	}
	dups := d.accepted - int64(len(rows))
	d.segs, d.n = nil, 0
	return rows, dups
}
