package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/parquet"
	"golang.org/x/sync/errgroup"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// The state. The clean tables pin, geo and user hold one row per ind with
// the origin of the row that won (parquetio.Origin), bucketed by ind
// (tables.StateBuckets). A run reads the state, merges the rows of the
// objects it read into it by the de-duplication rule, and rewrites only the
// buckets its rows fall in.

// tableRows are the rows of a clean table ordered by bucket, then ind:
// bucket b is rows[bounds[b]:bounds[b+1]]. The origin of rows[i] is org[i];
// for the rows a run read, org is nil and the origins are made when needed
// from at[i] and keys, the objects' keys by id (16 bytes a row, not 32: a
// million posts' rows are held until written).
type tableRows[R any] struct {
	rows   []R
	org    []parquetio.Origin
	at     []pos
	keys   []string
	bounds []int
}

// bucket returns the rows of bucket b and their origins.
func (t tableRows[R]) bucket(b int) ([]R, []parquetio.Origin) {
	return t.span(t.bounds[b], t.bounds[b+1])
}

// span returns rows[lo:hi] and their origins.
func (t tableRows[R]) span(lo, hi int) ([]R, []parquetio.Origin) {
	if t.org != nil {
		return t.rows[lo:hi], t.org[lo:hi]
	}
	if lo == hi {
		return nil, nil
	}
	org := make([]parquetio.Origin, hi-lo)
	for i, p := range t.at[lo:hi] {
		org[i] = parquetio.Origin{Partition: p.partition, Offset: p.offset, Object: t.keys[p.obj]}
	}
	return t.rows[lo:hi], org
}

func cmpInd(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortByInd sorts rows and their origins by ind.
func sortByInd[R any](rows []R, org []parquetio.Origin, ind func(*R) int64) {
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpInd(ind(&rows[a]), ind(&rows[b])) })
	r2, o2 := make([]R, len(rows)), make([]parquetio.Origin, len(rows))
	for i, j := range idx {
		r2[i], o2[i] = rows[j], org[j]
	}
	copy(rows, r2)
	copy(org, o2)
}

// merge merges the rows a run read (add, one per ind) into the state old:
// of two rows of one ind the one of the greater origin wins
// (parquetio.Origin.Less; the state's on equal origins: the same line).
// It returns the new state, the buckets that changed, and the number of
// rows of add that lost to (or replaced) a row of the state.
func merge[R any](old, add tableRows[R], ind func(*R) int64) (out tableRows[R], touched []bool, collisions int64) {
	nb := len(add.bounds) - 1
	if len(old.rows) == 0 {
		touched = make([]bool, nb)
		for b := range nb {
			touched[b] = add.bounds[b+1] > add.bounds[b]
		}
		return add, touched, 0
	}
	out = tableRows[R]{rows: make([]R, 0, len(old.rows)+len(add.rows)), org: make([]parquetio.Origin, 0, len(old.rows)+len(add.rows)), bounds: make([]int, nb+1)}
	touched = make([]bool, nb)
	for b := range nb {
		or, oo := old.bucket(b)
		ar, ao := add.bucket(b)
		touched[b] = len(ar) > 0
		i, j := 0, 0
		for i < len(or) || j < len(ar) {
			switch {
			case j == len(ar) || (i < len(or) && ind(&or[i]) < ind(&ar[j])):
				out.rows, out.org = append(out.rows, or[i]), append(out.org, oo[i])
				i++
			case i == len(or) || ind(&ar[j]) < ind(&or[i]):
				out.rows, out.org = append(out.rows, ar[j]), append(out.org, ao[j])
				j++
			default: // one ind in both
				collisions++
				if oo[i].Less(ao[j]) {
					out.rows, out.org = append(out.rows, ar[j]), append(out.org, ao[j])
				} else {
					out.rows, out.org = append(out.rows, or[i]), append(out.org, oo[i])
				}
				i++
				j++
			}
		}
		out.bounds[b+1] = len(out.rows)
	}
	return out, touched, collisions
}

// writeState writes the buckets of st that touched marks as files of tbl,
// each split in files of at most w.rowsPerFile rows named
// {run}-b{bucket}-part-NNNNN.parquet, and returns them by bucket.
func writeState[R any](ctx context.Context, w *writer, tbl *tables.Table, st tableRows[R], touched []bool,
	write func(io.Writer, []R, parquetio.Options) error) error {
	g, ctx := errgroup.WithContext(ctx)
	for b, t := range touched {
		if !t {
			continue
		}
		first, end := st.bounds[b], st.bounds[b+1]
		for i, lo := 0, first; lo < end; i, lo = i+1, lo+w.rowsPerFile {
			hi := min(lo+w.rowsPerFile, end)
			g.Go(func() error {
				select {
				case w.encoders <- struct{}{}:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
				defer func() { <-w.encoders }()
				// The origins are made here, for the files being encoded
				// only: all of them at once would raise the peak memory.
				rows, org := st.span(lo, hi)
				name := PartName(fmt.Sprintf("%s-b%02d", w.runID, b), i)
				return w.putFile(ctx, tbl, tables.File{Location: tbl.FileLocation("", name), Bucket: int32(b)}, hi-lo, func(out io.Writer) error {
					return write(out, rows, parquetio.Options{Origins: org})
				})
			})
		}
	}
	return g.Wait()
}

// newRows turns the rows a dedup kept into tableRows, their positions into
// origins (the object keys shared with the listing).
func newRows[R any](rows []R, at []pos, bounds []int, keys []string) tableRows[R] {
	return tableRows[R]{rows: rows, at: at, keys: keys, bounds: bounds}
}

// inds of the clean rows.
func pinInd(p *clean.Pin) int64   { return p.Ind }
func geoInd(g *clean.Geo) int64   { return g.Ind }
func userInd(u *clean.User) int64 { return u.Ind }

// stateOps are what mergeState does with the rows of one clean table.
type stateOps[R any] struct {
	ind       func(*R) int64
	readState func(parquet.ReaderAtSeeker) ([]R, []parquetio.Origin, error)
	// readInsight reads the columns the insight tables need
	// (insights.PinColumns, ...), trim keeps those fields of a row.
	readInsight func(parquet.ReaderAtSeeker) ([]R, error)
	trim        func(R) R
	write       func(io.Writer, []R, parquetio.Options) error
}

// merged is what mergeState did to a clean table.
type merged[R any] struct {
	insight    []R      // every row of the new state, with the fields the insight tables need
	rows       int64    // rows of the new state
	touched    int      // buckets rewritten
	collisions int64    // rows read that met a row of the state
	remove     []string // the files of the rewritten buckets
}

// mergeState merges add, the rows a run read, into the state of tbl, one
// bucket at a time: a bucket that add has rows in is read whole, merged,
// and written anew; the others are read only for the columns of the insight
// tables. So a run reads (whole) and writes only the buckets its rows fall
// in, and holds whole rows only for those in flight.
func mergeState[R any](ctx context.Context, w *writer, tbl *tables.Table, add tableRows[R], ops stateOps[R]) (merged[R], error) {
	var m merged[R]
	cur, err := tbl.Files(ctx)
	if err != nil {
		return m, err
	}
	nb := tbl.Def().Buckets
	files := make([][]string, nb) // by bucket, in location order: the parts in ind order
	for _, f := range cur {
		files[f.Bucket] = append(files[f.Bucket], f.Location)
	}
	out := make([][]R, nb)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(2, cap(w.encoders)))
	for b := range nb {
		g.Go(func() error {
			newRows, newOrg := add.bucket(b)
			if len(newRows) == 0 {
				var rows []R
				for _, loc := range files[b] {
					data, err := readFile(gctx, w, tbl, loc)
					if err != nil {
						return err
					}
					part, err := ops.readInsight(bytes.NewReader(data))
					if err != nil {
						return fmt.Errorf("reading the state of %s: %s: %w (run with --full to rebuild the state)", tbl.Name(), loc, err)
					}
					rows = append(rows, part...)
				}
				out[b] = rows
				return nil
			}
			var old tableRows[R]
			for _, loc := range files[b] {
				data, err := readFile(gctx, w, tbl, loc)
				if err != nil {
					return err
				}
				rows, org, err := ops.readState(bytes.NewReader(data))
				if err == nil && org == nil {
					err = errors.New("the file has no origin columns")
				}
				if err != nil {
					return fmt.Errorf("reading the state of %s: %s: %w (run with --full to rebuild the state)", tbl.Name(), loc, err)
				}
				old.rows, old.org = append(old.rows, rows...), append(old.org, org...)
			}
			if !slices.IsSortedFunc(old.rows, func(a, b R) int { return cmpInd(ops.ind(&a), ops.ind(&b)) }) {
				sortByInd(old.rows, old.org, ops.ind)
			}
			old.bounds = []int{0, len(old.rows)}
			res, _, coll := merge(old, tableRows[R]{rows: newRows, org: newOrg, bounds: []int{0, len(newRows)}}, ops.ind)
			touched := make([]bool, nb)
			touched[b] = true
			full := tableRows[R]{rows: res.rows, org: res.org, bounds: make([]int, nb+1)}
			for i := b + 1; i <= nb; i++ {
				full.bounds[i] = len(res.rows)
			}
			if err := writeState(gctx, w, tbl, full, touched, ops.write); err != nil {
				return err
			}
			trimmed := make([]R, len(res.rows))
			for i, r := range res.rows {
				trimmed[i] = ops.trim(r)
			}
			out[b] = trimmed
			mu.Lock()
			m.collisions += coll
			m.touched++
			m.remove = append(m.remove, files[b]...)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return m, err
	}
	for _, rows := range out {
		m.rows += int64(len(rows))
	}
	m.insight = make([]R, 0, m.rows)
	for b := range out {
		m.insight = append(m.insight, out[b]...)
		out[b] = nil
	}
	slices.Sort(m.remove)
	return m, nil
}

// readFile reads a data file of tbl whole.
func readFile(ctx context.Context, w *writer, tbl *tables.Table, location string) ([]byte, error) {
	b, key, err := w.cat.Store(ctx, location)
	if err != nil {
		return nil, err
	}
	rc, err := b.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading the state of %s: %w", tbl.Name(), err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading the state of %s: %s: %w", tbl.Name(), location, err)
	}
	return data, nil
}

// allBuckets marks every bucket touched (a full run rewrites the table).
func allBuckets(bounds []int) []bool {
	t := make([]bool, len(bounds)-1)
	for i := range t {
		t[i] = true
	}
	return t
}
