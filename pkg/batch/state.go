package batch

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

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
// objects it read into it by the de-duplication rule: it adds their rows
// and deletes the rows they replace with position deletes (mergeState).

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

// writeTable writes every bucket of t as files of tbl (a full run).
func writeTable[R any](ctx context.Context, w *writer, tbl *tables.Table, t tableRows[R], write func(io.Writer, []R, parquetio.Options) error) error {
	g, ctx := errgroup.WithContext(ctx)
	for b := range len(t.bounds) - 1 {
		lo := t.bounds[b]
		g.Go(func() error {
			// The origins are made file by file, as the files are
			// encoded: all of them at once would raise the peak memory.
			_, err := writeBucket(ctx, w, tbl, b, w.bucketPrefix(b), t.bounds[b+1]-lo,
				func(a, z int) ([]R, []parquetio.Origin) { return t.span(lo+a, lo+z) }, write)
			return err
		})
	}
	return g.Wait()
}

// writeBucket writes the n rows of bucket b, which part(lo, hi) gives with
// their origins, as files of tbl of at most w.rowsPerFile rows named
// {prefix}-part-NNNNN.parquet, and returns their locations; at most
// w.encoders files are encoded at the same time across the writer's calls.
func writeBucket[R any](ctx context.Context, w *writer, tbl *tables.Table, b int, prefix string, n int, part func(lo, hi int) ([]R, []parquetio.Origin),
	write func(io.Writer, []R, parquetio.Options) error) ([]string, error) {
	g, ctx := errgroup.WithContext(ctx)
	var locs []string
	for i, lo := 0, 0; lo < n; i, lo = i+1, lo+w.rowsPerFile {
		hi := min(lo+w.rowsPerFile, n)
		loc := tbl.FileLocation("", PartName(prefix, i))
		locs = append(locs, loc)
		g.Go(func() error {
			select {
			case w.encoders <- struct{}{}:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			defer func() { <-w.encoders }()
			rows, org := part(lo, hi)
			_, err := w.putFile(ctx, tbl, tables.File{Location: loc, Bucket: int32(b)}, hi-lo, func(out io.Writer) error {
				return write(out, rows, parquetio.Options{Origins: org})
			})
			return err
		})
	}
	return locs, g.Wait()
}

// bucketPrefix starts the names of the files the run writes in bucket b:
// {run}-b{bucket}.
func (w *writer) bucketPrefix(b int) string { return fmt.Sprintf("%s-b%02d", w.runID, b) }

// newRows turns the rows a dedup kept into tableRows.
func newRows[R any](rows []R, at []pos, bounds []int, keys []string) tableRows[R] {
	return tableRows[R]{rows: rows, at: at, keys: keys, bounds: bounds}
}

// stateOps are what a run does with the rows of one clean table.
type stateOps[R any] struct {
	ind       func(*R) int64
	readState func(parquet.ReaderAtSeeker) ([]R, []parquetio.Origin, error)
	// readInsight reads the named columns of a file, and the origins;
	// insight names the columns the insight tables need (insights.
	// PinColumns, ...), and trim keeps those fields of a row.
	readInsight func(r parquet.ReaderAtSeeker, columns []string) ([]R, []parquetio.Origin, error)
	insight     []string
	trim        func(R) R
	write       func(io.Writer, []R, parquetio.Options) error
}

// The operations of the three clean tables.
var (
	pinOps = stateOps[clean.Pin]{
		ind:         func(p *clean.Pin) int64 { return p.Ind },
		readState:   parquetio.ReadPinState,
		readInsight: parquetio.ReadPinStateColumns,
		insight:     insights.PinColumns,
		trim:        insights.TrimPin,
		write: func(out io.Writer, rows []clean.Pin, o parquetio.Options) error {
			return parquetio.WritePins(out, rows, nil, o)
		},
	}
	geoOps = stateOps[clean.Geo]{
		ind:         func(g *clean.Geo) int64 { return g.Ind },
		readState:   parquetio.ReadGeoState,
		readInsight: parquetio.ReadGeoStateColumns,
		insight:     insights.GeoColumns,
		trim:        insights.TrimGeo,
		write: func(out io.Writer, rows []clean.Geo, o parquetio.Options) error {
			return parquetio.WriteGeos(out, rows, nil, o)
		},
	}
	userOps = stateOps[clean.User]{
		ind:         func(u *clean.User) int64 { return u.Ind },
		readState:   parquetio.ReadUserState,
		readInsight: parquetio.ReadUserStateColumns,
		insight:     insights.UserColumns,
		trim:        insights.TrimUser,
		write: func(out io.Writer, rows []clean.User, o parquetio.Options) error {
			return parquetio.WriteUsers(out, rows, nil, o)
		},
	}
)

// MaxBucketFiles bounds the data files of one bucket of a clean table. An
// incremental run adds, in each bucket its rows fall in, one file of them.
// A bucket that would exceed this many files has its smallest files merged
// into one, down to MaxBucketFiles/2 (a size-tiered compaction: a row is
// rewritten about once each time the files around it double, not at every
// run).
const MaxBucketFiles = 8

// MaxBucketDeletes bounds the position delete files of one bucket of a
// clean table. A run adds one with the rows it deletes; one that would
// pass this many merges them all into its own (a run that adds a delete
// file and removes others makes two snapshots, one that only adds one).
const MaxBucketDeletes = 4

// tableScan is the state of a clean table as a run found it before
// merging: by bucket, its data and position delete files, the rows each
// delete file deletes, and every data file's rows with the fields of the
// insight tables and their origins (without their objects). It depends on
// nothing the run reads, so it is read while the new objects are
// (scanState).
type tableScan[R any] struct {
	buckets []bucketScan[R]
}

// bucketScan is one bucket of a tableScan.
type bucketScan[R any] struct {
	files, dels []tables.CurrentFile // in location order
	deleted     []map[int64]bool     // by data file: its rows deleted
	rows        [][]R                // by data file: its rows, deleted ones included
	org         [][]parquetio.Origin // their origins, without objects
}

// scanState reads the state of clean table t: every data file of its
// current snapshot (as loaded) for the columns of the insight tables and
// the origins, and its position delete files, a bucket at a time.
func scanState[R any](ctx context.Context, w *writer, t clean.Table, ops stateOps[R]) (*tableScan[R], error) {
	tbl := w.clean[t]
	cur, err := tbl.Files(ctx)
	if err != nil {
		return nil, err
	}
	curDel, err := tbl.DeleteFiles(ctx)
	if err != nil {
		return nil, err
	}
	nb := tbl.Def().Buckets
	sc := &tableScan[R]{buckets: make([]bucketScan[R], nb)}
	for _, f := range cur {
		sc.buckets[f.Bucket].files = append(sc.buckets[f.Bucket].files, f)
	}
	for _, f := range curDel {
		sc.buckets[f.Bucket].dels = append(sc.buckets[f.Bucket].dels, f)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(2, cap(w.encoders)))
	for b := range nb {
		g.Go(func() error { return sc.buckets[b].scan(gctx, w, tbl, ops) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return sc, nil
}

// scan reads the files of the bucket (see scanState).
func (bs *bucketScan[R]) scan(ctx context.Context, w *writer, tbl *tables.Table, ops stateOps[R]) error {
	index := make(map[string]int, len(bs.files))
	for i, f := range bs.files {
		index[f.Location] = i
	}
	delLocs := make([]string, len(bs.dels))
	for i, f := range bs.dels {
		delLocs[i] = f.Location
	}
	delDatas, err := readFiles(ctx, w, tbl, delLocs)
	if err != nil {
		return err
	}
	// An entry of a data file no longer in the table (compacted since) is
	// dropped.
	bs.deleted = make([]map[int64]bool, len(bs.files))
	for i := range bs.deleted {
		bs.deleted[i] = map[int64]bool{}
	}
	for i, data := range delDatas {
		pd, err := parquetio.ReadPosDeletes(bytes.NewReader(data))
		if err != nil {
			return stateError(tbl, delLocs[i], err)
		}
		for _, d := range pd {
			if fi, ok := index[d.Path]; ok {
				bs.deleted[fi][d.Pos] = true
			}
		}
	}
	bs.rows, bs.org = make([][]R, len(bs.files)), make([][]parquetio.Origin, len(bs.files))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(fileReaders)
	for fi, f := range bs.files {
		g.Go(func() error {
			data, err := readFile(ctx, w, tbl, f.Location)
			if err != nil {
				return err
			}
			if bs.rows[fi], bs.org[fi], err = ops.readInsight(bytes.NewReader(data), ops.insight); err != nil {
				return stateError(tbl, f.Location, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// mergeState merges add, the rows a run read of clean table t, into its
// state sc (scanState), one bucket at a time (mergeBucket). A row of the
// state that a row of add replaces is deleted with an Iceberg position
// delete, not by rewriting its file: a run writes, in each bucket add has
// rows in, a data file of those rows and the bucket's position delete
// file (one per bucket: the last one's rows and the new ones), and only
// the files that compaction merges. So its cost follows the rows it read,
// not the state (but for reading the state's insight columns, which the
// insight tables need). It returns every row of the new state with the
// fields the insight tables need (into *insight, in no particular order),
// adds to *collisions the rows of add that met a row of the state, and
// sets what the commit changes (tableState).
func mergeState[R any](ctx context.Context, w *writer, t clean.Table, sc *tableScan[R], add tableRows[R], ops stateOps[R], insight *[]R, collisions *int64) error {
	tbl, ts := w.clean[t], w.state[t]
	out := make([]mergedBucket[R], len(sc.buckets))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(2, cap(w.encoders)))
	for b := range sc.buckets {
		g.Go(func() error {
			var err error
			out[b], err = mergeBucket(gctx, w, tbl, b, &sc.buckets[b], add, ops)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	n := 0
	for _, m := range out {
		n += len(m.rows)
	}
	*insight = make([]R, 0, n)
	ts.compacted, ts.deletes = map[string]bool{}, map[string]bool{}
	for _, m := range out {
		*insight = append(*insight, m.rows...)
		*collisions += m.collisions
		ts.remove = append(ts.remove, m.replaced...)
		ts.removeDeletes = append(ts.removeDeletes, m.removeDeletes...)
		for _, loc := range m.compacted {
			ts.compacted[loc] = true
		}
		if m.deletes != "" {
			ts.deletes[m.deletes] = true
		}
	}
	slices.Sort(ts.remove)
	slices.Sort(ts.removeDeletes)
	return nil
}

// mergedBucket is what mergeBucket did to a bucket.
type mergedBucket[R any] struct {
	rows          []R      // the bucket's rows, with the fields of the insight tables
	collisions    int64    // rows of add that met a row of the state
	replaced      []string // the data files compacted
	compacted     []string // the data files holding their rows
	deletes       string   // the bucket's new position delete file, if any
	removeDeletes []string // its position delete files replaced
}

// mergeBucket merges the rows of add in bucket b into its data files and
// position delete files as bs found them (see mergeState): the inds of a
// data file's rows say whether add meets it, and their origins which row
// wins. A file that compaction merges is read again, whole. The rows are
// not sorted: the insight tables do not depend on the order of their input
// rows. bs is used up.
func mergeBucket[R any](ctx context.Context, w *writer, tbl *tables.Table, b int, bs *bucketScan[R], add tableRows[R], ops stateOps[R]) (mergedBucket[R], error) {
	var res mergedBucket[R]
	addRows, addOrg := add.bucket(b)
	files, dels, deleted := bs.files, bs.dels, bs.deleted
	locs := make([]string, len(files))
	for i, f := range files {
		locs[i] = f.Location
	}
	delLocs := make([]string, len(dels))
	for i, f := range dels {
		delLocs[i] = f.Location
	}
	// The inds of add, to find the rows they meet.
	addAt := make(map[int64]int, len(addRows))
	for i := range addRows {
		addAt[ops.ind(&addRows[i])] = i
	}
	scans := make([]scannedFile[R], len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fileReaders)
	for fi, loc := range locs {
		g.Go(func() error {
			var err error
			scans[fi], err = applyAdd(gctx, w, tbl, loc, bs.rows[fi], bs.org[fi], deleted[fi], addAt, addOrg, ops)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	bs.rows, bs.org = nil, nil
	lost := make([]bool, len(addRows)) // rows of add that a row of the state beats
	var newDel []parquetio.PosDelete
	live := make([]int64, len(files))
	n := len(addRows)
	for _, sc := range scans {
		n += len(sc.rows)
	}
	res.rows = make([]R, 0, n)
	for fi, sc := range scans {
		res.collisions += sc.collisions
		for _, j := range sc.lost {
			lost[j] = true
		}
		for _, pos := range sc.deleted {
			deleted[fi][pos] = true
			newDel = append(newDel, parquetio.PosDelete{Path: locs[fi], Pos: pos})
		}
		live[fi] = int64(len(sc.rows))
	}
	if len(addRows) == 0 {
		for _, sc := range scans {
			res.rows = append(res.rows, sc.rows...)
		}
		return res, nil
	}
	// The rows of add that won (or met no row), as a new file.
	var newRows []R
	var newOrg []parquetio.Origin
	for j := range addRows {
		if !lost[j] {
			newRows, newOrg = append(newRows, addRows[j]), append(newOrg, addOrg[j])
		}
	}
	adding := 0
	if len(newRows) > 0 {
		part := func(lo, hi int) ([]R, []parquetio.Origin) { return newRows[lo:hi], newOrg[lo:hi] }
		if _, err := writeBucket(ctx, w, tbl, b, w.bucketPrefix(b), len(newRows), part, ops.write); err != nil {
			return res, err
		}
		adding = 1
		for _, r := range newRows {
			res.rows = append(res.rows, ops.trim(r))
		}
	}
	sizes := make([]int64, len(files))
	for i, f := range files {
		sizes[i] = f.Rows
	}
	merge := compact(live, sizes, adding)
	for fi, sc := range scans {
		if !slices.Contains(merge, fi) {
			res.rows = append(res.rows, sc.rows...)
		}
	}
	if len(merge) > 0 {
		rows, written, err := compactFiles(ctx, w, tbl, b, merge, locs, deleted, ops)
		if err != nil {
			return res, err
		}
		res.rows, res.compacted = append(res.rows, rows...), written
		for _, fi := range merge {
			res.replaced = append(res.replaced, locs[fi])
		}
	}
	// The run's position deletes go in a new delete file of the bucket.
	// When compaction removes files, or the bucket would pass
	// MaxBucketDeletes delete files, the file also holds the rows the
	// bucket's other delete files delete, and replaces them; entries of
	// the files compacted then stay until the next time, so that the
	// snapshot adding it (before the one removing those files) deletes
	// their rows too (tables.Table.Commit).
	if len(newDel) == 0 && len(merge) == 0 {
		return res, nil // the delete files stay as they are
	}
	all := newDel
	if len(merge) > 0 || len(dels)+1 > MaxBucketDeletes {
		all = nil
		for fi, d := range deleted {
			if len(newDel) == 0 && slices.Contains(merge, fi) {
				continue // only compaction: its files' entries go with them
			}
			for pos := range d {
				all = append(all, parquetio.PosDelete{Path: locs[fi], Pos: pos})
			}
		}
		res.removeDeletes = delLocs
	}
	if len(all) > 0 {
		name := w.bucketPrefix(b) + "-deletes.parquet"
		f, err := w.putFile(ctx, tbl, tables.File{Location: tbl.FileLocation("", name), Bucket: int32(b)}, len(all), func(out io.Writer) error {
			return parquetio.WritePosDeletes(out, all, parquetio.Options{})
		})
		if err != nil {
			return res, err
		}
		res.deletes = f.Location
	}
	return res, nil
}

// scannedFile is what applyAdd found in a data file of the state.
type scannedFile[R any] struct {
	rows       []R     // its live rows, with the fields of the insight tables
	deleted    []int64 // its rows that rows of add replace
	lost       []int   // the rows of add that its rows beat
	collisions int64   // rows of add that met one of its rows
}

// applyAdd applies the de-duplication rule to the rows of a data file of
// the state at location (rows, with their origins org, as scanState read
// them; deleted: its rows deleted) that rows of add (addAt: their index by
// ind; addOrg: their origins) meet. The file's objects are read only when
// two origins of the same line meet.
func applyAdd[R any](ctx context.Context, w *writer, tbl *tables.Table, location string, rows []R, org []parquetio.Origin, deleted map[int64]bool,
	addAt map[int64]int, addOrg []parquetio.Origin, ops stateOps[R]) (scannedFile[R], error) {
	var sc scannedFile[R]
	withObjects := false // org has the objects
	out := rows[:0]
	for i := range rows {
		if deleted[int64(i)] {
			continue
		}
		if j, ok := addAt[ops.ind(&rows[i])]; ok {
			sc.collisions++
			if org[i].SameLine(addOrg[j]) && !withObjects {
				// The objects decide: read them (rare: a line landed twice).
				data, err := readFile(ctx, w, tbl, location)
				if err != nil {
					return sc, err
				}
				if _, org, err = ops.readInsight(bytes.NewReader(data), []string{"ind", parquetio.ColOriginObject}); err != nil {
					return sc, stateError(tbl, location, err)
				}
				withObjects = true
			}
			// The state's row wins on equal origins: the same line.
			if org[i].Less(addOrg[j]) {
				sc.deleted = append(sc.deleted, int64(i))
				continue
			}
			sc.lost = append(sc.lost, j)
		}
		out = append(out, rows[i])
	}
	sc.rows = out
	return sc, nil
}

// compact returns the files of a bucket (of live[i] live rows each, of
// rows[i]) to merge into one so that, with adding new files, the bucket
// does not pass MaxBucketFiles: when it would, its smallest files, until it
// has MaxBucketFiles/2. A file with more deleted rows than live ones is
// always merged (its deleted rows are read at every run, and a file whose
// rows are all deleted goes away).
func compact(live, rows []int64, adding int) []int {
	bySize := make([]int, len(live))
	for i := range bySize {
		bySize[i] = i
	}
	slices.SortStableFunc(bySize, func(x, y int) int { return cmp.Compare(live[x], live[y]) })
	n := 0 // files merged
	if len(live)+adding > MaxBucketFiles {
		n = len(live) + adding + 1 - MaxBucketFiles/2
	}
	n = min(n, len(live))
	out := slices.Clone(bySize[:n])
	for _, i := range bySize[n:] {
		if rows[i]-live[i] > live[i] {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// compactFiles merges the live rows of files merge (of locations; deleted
// gives their deleted rows) of bucket b into new files of the bucket, and
// returns their rows with the fields the insight tables need, and their
// locations.
func compactFiles[R any](ctx context.Context, w *writer, tbl *tables.Table, b int, merge []int, locations []string,
	deleted []map[int64]bool, ops stateOps[R]) ([]R, []string, error) {
	var rows []R
	var org []parquetio.Origin
	mlocs := make([]string, len(merge))
	for i, fi := range merge {
		mlocs[i] = locations[fi]
	}
	datas, err := readFiles(ctx, w, tbl, mlocs)
	if err != nil {
		return nil, nil, err
	}
	for i, fi := range merge {
		r, o, err := ops.readState(bytes.NewReader(datas[i]))
		if err != nil {
			return nil, nil, stateError(tbl, locations[fi], err)
		}
		for i := range r {
			if !deleted[fi][int64(i)] {
				rows, org = append(rows, r[i]), append(org, o[i])
			}
		}
	}
	if len(rows) == 0 {
		return nil, nil, nil
	}
	sortByInd(rows, org, ops.ind)
	part := func(lo, hi int) ([]R, []parquetio.Origin) { return rows[lo:hi], org[lo:hi] }
	written, err := writeBucket(ctx, w, tbl, b, w.bucketPrefix(b)+"c", len(rows), part, ops.write)
	if err != nil {
		return nil, nil, err
	}
	trimmed := make([]R, len(rows))
	for i, r := range rows {
		trimmed[i] = ops.trim(r)
	}
	return trimmed, written, nil
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
	data, err := w.cat.ReadFile(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("reading a file of %s: %w", tbl.Name(), err)
	}
	return data, nil
}

// stateScan reads the state of the three clean tables (scanState) in the
// background, while the run reads the new objects.
type stateScan struct {
	pins   *tableScan[clean.Pin]
	geos   *tableScan[clean.Geo]
	users  *tableScan[clean.User]
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the reads have ended; then:
	err    error         // the first error
	took   time.Duration // from the start to the end of the reads
}

// startScan starts reading the state of the clean tables of w; fail is
// called with the first error, unless the reads were stopped.
func startScan(ctx context.Context, w *writer, fail func(error)) *stateScan {
	ctx, cancel := context.WithCancelCause(ctx)
	s := &stateScan{cancel: cancel, done: make(chan struct{})}
	t0 := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { s.pins, err = scanState(gctx, w, clean.TablePin, pinOps); return err })
	g.Go(func() (err error) { s.geos, err = scanState(gctx, w, clean.TableGeo, geoOps); return err })
	g.Go(func() (err error) { s.users, err = scanState(gctx, w, clean.TableUser, userOps); return err })
	go func() {
		defer close(s.done)
		s.err = g.Wait()
		s.took = time.Since(t0)
		if s.err != nil && context.Cause(ctx) == nil {
			fail(s.err)
		}
	}()
	return s
}

// wait waits for the reads to end and returns the first error.
func (s *stateScan) wait() error {
	<-s.done
	return s.err
}

// stop cancels the reads, if still running, and waits for them to end (a
// run that fails before merging).
func (s *stateScan) stop() {
	s.cancel(errors.New("the run ended"))
	<-s.done
}
