package batch

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/parquet"
	"golang.org/x/sync/errgroup"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// The state. The clean tables pin, geo and user hold one row per ind with
// the origin of the row that won (parquetio.Origin), bucketed by ind
// (tables.StateBuckets). A run reads the state, merges the rows of the
// objects it read into it by the de-duplication rule, and rewrites only the
// files of the state its rows touch (mergeState).

// tableRows are the rows a run read of a clean table, ordered by bucket,
// then ind: bucket b is rows[bounds[b]:bounds[b+1]]. The origin of rows[i]
// is made when needed from at[i] and keys, the objects' keys by id (16
// bytes a row rather than a parquetio.Origin's 32: a million posts' rows
// are held until written).
type tableRows[R any] struct {
	rows   []R
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
	org := make([]parquetio.Origin, hi-lo)
	for i, p := range t.at[lo:hi] {
		org[i] = parquetio.Origin{Partition: p.partition, Offset: p.offset, Object: t.keys[p.obj]}
	}
	return t.rows[lo:hi], org
}

// sortByInd sorts rows and their origins by ind.
func sortByInd[R any](rows []R, org []parquetio.Origin, ind func(*R) int64) {
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(ind(&rows[a]), ind(&rows[b])) })
	r2, o2 := make([]R, len(rows)), make([]parquetio.Origin, len(rows))
	for i, j := range idx {
		r2[i], o2[i] = rows[j], org[j]
	}
	copy(rows, r2)
	copy(org, o2)
}

// merge merges add, the rows a run read of a bucket (one per ind), into
// old, the state's rows of that bucket, both sorted by ind: of two rows of
// one ind the one of the greater origin wins (parquetio.Origin.Less; the
// state's on equal origins: the same line). It returns the bucket's new
// rows and origins, and the number of rows of add that met a row of the
// state.
func merge[R any](old []R, oldOrg []parquetio.Origin, add []R, addOrg []parquetio.Origin, ind func(*R) int64) ([]R, []parquetio.Origin, int64) {
	rows := make([]R, 0, len(old)+len(add))
	org := make([]parquetio.Origin, 0, len(old)+len(add))
	var collisions int64
	i, j := 0, 0
	for i < len(old) || j < len(add) {
		switch {
		case j == len(add) || (i < len(old) && ind(&old[i]) < ind(&add[j])):
			rows, org = append(rows, old[i]), append(org, oldOrg[i])
			i++
		case i == len(old) || ind(&add[j]) < ind(&old[i]):
			rows, org = append(rows, add[j]), append(org, addOrg[j])
			j++
		default: // one ind in both
			collisions++
			if oldOrg[i].Less(addOrg[j]) {
				rows, org = append(rows, add[j]), append(org, addOrg[j])
			} else {
				rows, org = append(rows, old[i]), append(org, oldOrg[i])
			}
			i++
			j++
		}
	}
	return rows, org, collisions
}

// writeTable writes every bucket of t as files of tbl (a full run).
func writeTable[R any](ctx context.Context, w *writer, tbl *tables.Table, t tableRows[R], write func(io.Writer, []R, parquetio.Options) error) error {
	g, ctx := errgroup.WithContext(ctx)
	for b := range len(t.bounds) - 1 {
		lo := t.bounds[b]
		g.Go(func() error {
			// The origins are made file by file, as the files are
			// encoded: all of them at once would raise the peak memory.
			return writeBucket(ctx, w, tbl, b, t.bounds[b+1]-lo, func(a, z int) ([]R, []parquetio.Origin) { return t.span(lo+a, lo+z) }, write)
		})
	}
	return g.Wait()
}

// writeBucket writes the n rows of bucket b, which part(lo, hi) gives with
// their origins, as files of tbl of at most w.rowsPerFile rows named
// {run}-b{bucket}-part-NNNNN.parquet; at most w.encoders files are
// encoded at the same time across the writer's calls.
func writeBucket[R any](ctx context.Context, w *writer, tbl *tables.Table, b int, n int, part func(lo, hi int) ([]R, []parquetio.Origin),
	write func(io.Writer, []R, parquetio.Options) error) error {
	g, ctx := errgroup.WithContext(ctx)
	for i, lo := 0, 0; lo < n; i, lo = i+1, lo+w.rowsPerFile {
		hi := min(lo+w.rowsPerFile, n)
		g.Go(func() error {
			select {
			case w.encoders <- struct{}{}:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			defer func() { <-w.encoders }()
			rows, org := part(lo, hi)
			name := PartName(fmt.Sprintf("%s-b%02d", w.runID, b), i)
			_, err := w.putFile(ctx, tbl, tables.File{Location: tbl.FileLocation("", name), Bucket: int32(b)}, hi-lo, func(out io.Writer) error {
				return write(out, rows, parquetio.Options{Origins: org})
			})
			return err
		})
	}
	return g.Wait()
}

// newRows turns the rows a dedup kept into tableRows.
func newRows[R any](rows []R, at []pos, bounds []int, keys []string) tableRows[R] {
	return tableRows[R]{rows: rows, at: at, keys: keys, bounds: bounds}
}

// stateOps are what a run does with the rows of one clean table.
type stateOps[R any] struct {
	ind       func(*R) int64
	readState func(parquet.ReaderAtSeeker) ([]R, []parquetio.Origin, error)
	// readColumns reads the named columns of a file; insight names those
	// the insight tables need (insights.PinColumns, ...), and trim keeps
	// those fields of a row.
	readColumns func(r parquet.ReaderAtSeeker, columns []string) ([]R, error)
	insight     []string
	trim        func(R) R
	write       func(io.Writer, []R, parquetio.Options) error
}

// The operations of the three clean tables.
var (
	pinOps = stateOps[clean.Pin]{
		ind:         func(p *clean.Pin) int64 { return p.Ind },
		readState:   parquetio.ReadPinState,
		readColumns: parquetio.ReadPinColumns,
		insight:     insights.PinColumns,
		trim:        insights.TrimPin,
		write: func(out io.Writer, rows []clean.Pin, o parquetio.Options) error {
			return parquetio.WritePins(out, rows, nil, o)
		},
	}
	geoOps = stateOps[clean.Geo]{
		ind:         func(g *clean.Geo) int64 { return g.Ind },
		readState:   parquetio.ReadGeoState,
		readColumns: parquetio.ReadGeoColumns,
		insight:     insights.GeoColumns,
		trim:        insights.TrimGeo,
		write: func(out io.Writer, rows []clean.Geo, o parquetio.Options) error {
			return parquetio.WriteGeos(out, rows, nil, o)
		},
	}
	userOps = stateOps[clean.User]{
		ind:         func(u *clean.User) int64 { return u.Ind },
		readState:   parquetio.ReadUserState,
		readColumns: parquetio.ReadUserColumns,
		insight:     insights.UserColumns,
		trim:        insights.TrimUser,
		write: func(out io.Writer, rows []clean.User, o parquetio.Options) error {
			return parquetio.WriteUsers(out, rows, nil, o)
		},
	}
)

// MaxBucketFiles bounds the data files of one bucket of a clean table. An
// incremental run writes, in each bucket its rows fall in, one file: its
// rows merged with the files holding an ind they replace. A bucket that
// would exceed this many files has its smallest files merged in too, down
// to MaxBucketFiles/2 (a size-tiered compaction: a row is rewritten about
// once each time the files around it double, not at every run).
const MaxBucketFiles = 8

// mergeState merges add, the rows a run read of clean table t, into its
// state, one bucket at a time. Every file of the state is read for the
// columns of the insight tables. In a bucket that add has rows in, the
// files holding an ind of add (and, to bound the bucket's files, its
// smallest ones: MaxBucketFiles) are read whole, merged with those rows and
// written anew as one file; the other files stay as they are. So a run
// writes the files its rows touch, and holds whole rows only for those. It
// returns every row of the new state with the fields the insight tables
// need (into *insight, in no particular order), adds to *collisions the
// rows of add that met a row of the state, and sets the files the commit
// replaces (tableState.remove).
func mergeState[R any](ctx context.Context, w *writer, t clean.Table, add tableRows[R], ops stateOps[R], insight *[]R, collisions *int64) error {
	tbl, ts := w.clean[t], w.state[t]
	cur, err := tbl.Files(ctx)
	if err != nil {
		return err
	}
	nb := tbl.Def().Buckets
	files := make([][]tables.CurrentFile, nb) // by bucket, in location order
	for _, f := range cur {
		files[f.Bucket] = append(files[f.Bucket], f)
	}
	out := make([]mergedBucket[R], nb)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(2, cap(w.encoders)))
	for b := range nb {
		g.Go(func() error {
			var err error
			out[b], err = mergeBucket(gctx, w, tbl, b, files[b], add, ops)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	*insight = nil
	for _, m := range out {
		*insight = append(*insight, m.rows...)
		*collisions += m.collisions
		ts.remove = append(ts.remove, m.replaced...)
	}
	slices.Sort(ts.remove)
	return nil
}

// mergedBucket is what mergeBucket did to a bucket.
type mergedBucket[R any] struct {
	rows       []R      // the bucket's rows, with the fields of the insight tables
	collisions int64    // rows of add that met a row of the state
	replaced   []string // the files rewritten
}

// mergeBucket merges the rows of add in bucket b into its files (see
// mergeState). Each file is decoded once: for the insight columns, whose
// inds say whether add touches it; a touched file is then decoded whole by
// rewrite. The rows are not sorted: the insight tables do not depend on the
// order of their input rows.
func mergeBucket[R any](ctx context.Context, w *writer, tbl *tables.Table, b int, files []tables.CurrentFile, add tableRows[R], ops stateOps[R]) (mergedBucket[R], error) {
	var res mergedBucket[R]
	addRows, addOrg := add.bucket(b)
	locs := make([]string, len(files))
	for i, f := range files {
		locs[i] = f.Location
	}
	datas, err := readFiles(ctx, w, tbl, locs)
	if err != nil {
		return res, err
	}
	// The inds of add, to find the files they fall in.
	addAt := make(map[int64]bool, len(addRows))
	for i := range addRows {
		addAt[ops.ind(&addRows[i])] = true
	}
	merged := make([]bool, len(files)) // the files rewritten with add
	kept := make([][]R, len(files))    // the insight rows of the others
	for fi, loc := range locs {
		rows, err := ops.readColumns(bytes.NewReader(datas[fi]), ops.insight)
		if err != nil {
			return res, stateError(tbl, loc, err)
		}
		merged[fi] = len(addAt) > 0 && slices.ContainsFunc(rows, func(r R) bool { return addAt[ops.ind(&r)] })
		if !merged[fi] {
			kept[fi] = rows
		}
	}
	if len(addRows) > 0 {
		sizes := make([]int64, len(files))
		for i, f := range files {
			sizes[i] = f.Rows
		}
		compact(sizes, merged)
	}
	for fi, rows := range kept {
		if !merged[fi] {
			res.rows = append(res.rows, rows...)
		}
	}
	if len(addRows) == 0 {
		return res, nil
	}
	var mdatas [][]byte
	for fi, m := range merged {
		if m {
			res.replaced, mdatas = append(res.replaced, locs[fi]), append(mdatas, datas[fi])
		}
	}
	rows, coll, err := rewrite(ctx, w, tbl, b, res.replaced, mdatas, addRows, addOrg, ops)
	if err != nil {
		return res, err
	}
	res.rows, res.collisions = append(res.rows, rows...), coll
	return res, nil
}

// compact marks in merged, the files of a bucket (of rows[i] rows each)
// that a run rewrites with its rows, the files to merge too so that the
// bucket does not pass MaxBucketFiles: when the run would leave more, its
// smallest other files, until it leaves MaxBucketFiles/2. It returns the
// files it marked.
func compact(rows []int64, merged []bool) []int {
	n := 0 // files merged
	for _, m := range merged {
		if m {
			n++
		}
	}
	if len(rows)-n+1 <= MaxBucketFiles {
		return nil
	}
	bySize := make([]int, len(rows))
	for i := range bySize {
		bySize[i] = i
	}
	slices.SortStableFunc(bySize, func(x, y int) int { return cmp.Compare(rows[x], rows[y]) })
	var added []int
	for _, fi := range bySize {
		if len(rows)-n+1 <= MaxBucketFiles/2 {
			break
		}
		if !merged[fi] {
			merged[fi] = true
			n++
			added = append(added, fi)
		}
	}
	return added
}

// rewrite merges add, rows of bucket b sorted by ind, into the state rows of
// the files at locations (whose contents are datas), writes the result as
// files of the bucket, and returns its rows with the
// fields the insight tables need, and the number of rows of add that met a
// row of the state. With no locations it writes add alone.
func rewrite[R any](ctx context.Context, w *writer, tbl *tables.Table, b int, locations []string, datas [][]byte,
	add []R, addOrg []parquetio.Origin, ops stateOps[R]) ([]R, int64, error) {
	var old []R
	var oldOrg []parquetio.Origin
	for i, loc := range locations {
		rows, org, err := ops.readState(bytes.NewReader(datas[i]))
		if err == nil && org == nil {
			err = errors.New("the file has no origin columns")
		}
		if err != nil {
			return nil, 0, stateError(tbl, loc, err)
		}
		old, oldOrg = append(old, rows...), append(oldOrg, org...)
	}
	if !slices.IsSortedFunc(old, func(x, y R) int { return cmp.Compare(ops.ind(&x), ops.ind(&y)) }) {
		sortByInd(old, oldOrg, ops.ind)
	}
	rows, org, coll := merge(old, oldOrg, add, addOrg, ops.ind)
	part := func(lo, hi int) ([]R, []parquetio.Origin) { return rows[lo:hi], org[lo:hi] }
	if err := writeBucket(ctx, w, tbl, b, len(rows), part, ops.write); err != nil {
		return nil, 0, err
	}
	trimmed := make([]R, len(rows))
	for i, r := range rows {
		trimmed[i] = ops.trim(r)
	}
	return trimmed, coll, nil
}

// stateError is the error of a state file that cannot be read.
func stateError(tbl *tables.Table, location string, err error) error {
	return fmt.Errorf("reading the state of %s: %s: %w (run with --full to rebuild the state)", tbl.Name(), location, err)
}

// readFiles reads data files of tbl whole, several at a time (on S3 each
// is a request).
func readFiles(ctx context.Context, w *writer, tbl *tables.Table, locations []string) ([][]byte, error) {
	out := make([][]byte, len(locations))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(fileReaders)
	for i, loc := range locations {
		g.Go(func() error {
			var err error
			out[i], err = readFile(ctx, w, tbl, loc)
			return err
		})
	}
	return out, g.Wait()
}

// fileReaders is how many files readFiles reads at a time (on S3, requests
// in flight).
const fileReaders = 8

// readFile reads a data file of tbl whole.
func readFile(ctx context.Context, w *writer, tbl *tables.Table, location string) ([]byte, error) {
	b, key, err := w.cat.Store(ctx, location)
	if err != nil {
		return nil, err
	}
	rc, err := b.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading a file of %s: %w", tbl.Name(), err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading a file of %s: %s: %w", tbl.Name(), location, err)
	}
	return data, nil
}
