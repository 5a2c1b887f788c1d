package batch

import (
	"cmp"
	"slices"
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

// dedup keeps the last row of every ind, in typed slices indexed by a map, so
// memory grows with the distinct inds, not with the lines read.
type dedup[R any] struct {
	ind      func(*R) int64
	rows     []R
	keys     []pos
	idx      map[int64]int32
	accepted int64 // rows offered, duplicates included
}

func newDedup[R any](ind func(*R) int64) *dedup[R] {
	return &dedup[R]{ind: ind, idx: make(map[int64]int32)}
}

// add offers row r found at position k.
func (d *dedup[R]) add(r *R, k pos) {
	d.accepted++
	id := d.ind(r)
	if i, ok := d.idx[id]; ok {
		if d.keys[i].less(k) {
			d.rows[i], d.keys[i] = *r, k
		}
		return
	}
	d.idx[id] = int32(len(d.rows))
	d.rows = append(d.rows, *r)
	d.keys = append(d.keys, k)
}

// sorted returns the kept rows sorted by ind and the number of dropped
// duplicates, and releases the index. Rows are permuted in place (structs are
// large, so they are moved once rather than swapped by the sort).
func (d *dedup[R]) sorted() ([]R, int64) {
	rows := d.rows
	type entry struct {
		ind int64
		i   int32
	}
	order := make([]entry, len(rows))
	for i := range rows {
		order[i] = entry{d.ind(&rows[i]), int32(i)}
	}
	slices.SortFunc(order, func(a, b entry) int { return cmp.Compare(a.ind, b.ind) })
	// Apply the permutation: position i receives rows[order[i].i].
	done := make([]bool, len(rows))
	for i := range rows {
		if done[i] {
			continue
		}
		tmp := rows[i]
		j := i
		for {
			done[j] = true
			k := int(order[j].i)
			if k == i {
				rows[j] = tmp
				break
			}
			rows[j] = rows[k]
			j = k
		}
	}
	dups := d.accepted - int64(len(rows))
	d.rows, d.keys, d.idx = nil, nil, nil
	return slices.Clip(rows), dups
}
