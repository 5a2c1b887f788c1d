package batch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

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
// bucket b is rows[bounds[b]:bounds[b+1]], and org[i] is the origin of
// rows[i].
type tableRows[R any] struct {
	rows   []R
	org    []parquetio.Origin
	bounds []int
}

func (t tableRows[R]) bucket(b int) ([]R, []parquetio.Origin) {
	lo, hi := t.bounds[b], t.bounds[b+1]
	return t.rows[lo:hi], t.org[lo:hi]
}

// stateRows reads the state of a clean table: its current files (as last
// loaded), grouped by bucket. files gives the locations of each bucket's
// files.
func stateRows[R any](ctx context.Context, w *writer, tbl *tables.Table, read func(parquet.ReaderAtSeeker) ([]R, []parquetio.Origin, error),
	ind func(*R) int64) (st tableRows[R], files map[int32][]string, err error) {
	nb := tbl.Def().Buckets
	cur, err := tbl.Files(ctx)
	if err != nil {
		return st, nil, err
	}
	type part struct {
		rows []R
		org  []parquetio.Origin
	}
	got := make([]part, len(cur))
	files = map[int32][]string{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, f := range cur {
		files[f.Bucket] = append(files[f.Bucket], f.Location)
		g.Go(func() error {
			b, key, err := w.cat.Store(gctx, f.Location)
			if err != nil {
				return err
			}
			rc, err := b.Get(gctx, key)
			if err != nil {
				return fmt.Errorf("reading the state of %s: %w", tbl.Name(), err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return fmt.Errorf("reading the state of %s: %s: %w", tbl.Name(), f.Location, err)
			}
			rows, org, err := read(bytes.NewReader(data))
			if err == nil && org == nil {
				err = fmt.Errorf("the file has no origin columns")
			}
			if err != nil {
				return fmt.Errorf("reading the state of %s: %s: %w (run with --full to rebuild the state)", tbl.Name(), f.Location, err)
			}
			got[i] = part{rows, org}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return st, nil, err
	}
	// Files are sorted by location, and the parts of a bucket's files are
	// named in ind order; order the buckets.
	byBucket := make([][]int, nb)
	total := 0
	for i, f := range cur {
		byBucket[f.Bucket] = append(byBucket[f.Bucket], i)
		total += len(got[i].rows)
	}
	st = tableRows[R]{rows: make([]R, 0, total), org: make([]parquetio.Origin, 0, total), bounds: make([]int, nb+1)}
	for b := range nb {
		lo := len(st.rows)
		for _, i := range byBucket[b] {
			st.rows = append(st.rows, got[i].rows...)
			st.org = append(st.org, got[i].org...)
			got[i] = part{}
		}
		rows, org := st.rows[lo:], st.org[lo:]
		if !slices.IsSortedFunc(rows, func(a, b R) int { return cmpInd(ind(&a), ind(&b)) }) {
			sortByInd(rows, org, ind)
		}
		st.bounds[b+1] = len(st.rows)
	}
	return st, files, nil
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
		rows, org := st.bucket(b)
		if len(rows) == 0 {
			continue
		}
		for i, lo := 0, 0; lo < len(rows); i, lo = i+1, lo+w.rowsPerFile {
			hi := min(lo+w.rowsPerFile, len(rows))
			g.Go(func() error {
				select {
				case w.encoders <- struct{}{}:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
				defer func() { <-w.encoders }()
				name := PartName(fmt.Sprintf("%s-b%02d", w.runID, b), i)
				return w.putFile(ctx, tbl, tables.File{Location: tbl.FileLocation("", name), Bucket: int32(b)}, hi-lo, func(out io.Writer) error {
					return write(out, rows[lo:hi], parquetio.Options{Origins: org[lo:hi]})
				})
			})
		}
	}
	return g.Wait()
}

// newRows turns the rows a dedup kept into tableRows, their positions into
// origins (the object keys shared with the listing).
func newRows[R any](rows []R, at []pos, bounds []int, keys []string) tableRows[R] {
	org := make([]parquetio.Origin, len(at))
	for i, p := range at {
		org[i] = parquetio.Origin{Partition: p.partition, Offset: p.offset, Object: keys[p.obj]}
	}
	return tableRows[R]{rows: rows, org: org, bounds: bounds}
}

// inds of the clean rows.
func pinInd(p *clean.Pin) int64   { return p.Ind }
func geoInd(g *clean.Geo) int64   { return g.Ind }
func userInd(u *clean.User) int64 { return u.Ind }

// mergeState reads the state of tbl and merges add into it; it returns the
// new state, the buckets that changed, the collisions and the files of the
// changed buckets (which the commit replaces).
func mergeState[R any](ctx context.Context, w *writer, tbl *tables.Table, add tableRows[R], read func(parquet.ReaderAtSeeker) ([]R, []parquetio.Origin, error),
	ind func(*R) int64) (tableRows[R], []bool, int64, []string, error) {
	old, files, err := stateRows(ctx, w, tbl, read, ind)
	if err != nil {
		return add, nil, 0, nil, err
	}
	out, touched, collisions := merge(old, add, ind)
	var remove []string
	for b, t := range touched {
		if t {
			remove = append(remove, files[int32(b)]...)
		}
	}
	return out, touched, collisions, remove, nil
}

// allBuckets marks every bucket touched (a full run rewrites the table).
func allBuckets(bounds []int) []bool {
	t := make([]bool, len(bounds)-1)
	for i := range t {
		t[i] = true
	}
	return t
}
