package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"golang.org/x/sync/errgroup"

	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// Snapshot summary properties of the run's commits (tables.md §3).
const (
	SummaryRunID   = "pinpipe.run-id"
	SummaryRunDate = "pinpipe.run-date"
	// SummaryQuality holds the run's quality (RunQuality: whether it was
	// full, and the counts of the lines it read, as in quality.json), in the
	// snapshots of the clean table pin only: a table's metadata lists every
	// snapshot it keeps, and is parsed whole at each load and commit (twice,
	// by the catalog), so the quality (some KB) is not repeated in the other
	// tables, and the running totals (in quality.json and the clean tables'
	// property PropQualityTotal) are left out.
	SummaryQuality = "pinpipe.quality"
)

// QualityFile is the key of a run's quality.json under the warehouse:
// {namespace}.db/_quality/dt={date}/quality.json, beside the tables.
func QualityFile(namespace, date string) string { return runDir(namespace, date) + "quality.json" }

// ReportFile is the key of a run's report.html, beside its quality.json.
func ReportFile(namespace, date string) string { return runDir(namespace, date) + "report.html" }

// runDir is the directory of a run's quality.json and report.html under
// the warehouse.
func runDir(namespace, date string) string { return namespace + ".db/_quality/dt=" + date + "/" }

// PartName is the name of the i-th Parquet file of a run in a table: the
// run id, then part-NNNNN.
func PartName(runID string, i int) string { return fmt.Sprintf("%s-part-%05d.parquet", runID, i) }

// publishAttempts bounds the commits of one table (each after reloading it)
// when other writers keep committing first.
const publishAttempts = 8

// writer writes a run's data files into its tables' locations and commits
// them. Its methods may be called concurrently.
type writer struct {
	cat         *tables.Catalog
	runID, date string
	rowsPerFile int
	logger      *slog.Logger
	// encoders bounds the files of writeSplit encoded at the same time.
	encoders chan struct{}

	clean      map[clean.Table]*tables.Table
	insights   map[string]*tables.Table
	quarantine *tables.Table

	// state is what the run read of each clean table's state.
	state map[clean.Table]*tableState
	// quarantined are the locations of batch_quarantine's current files,
	// as the run found them.
	quarantined map[string]bool

	mu      sync.Mutex
	written map[*tables.Table][]tables.File
	// qfiles are the quarantine files of each table's rejected lines.
	qfiles map[clean.Table][]tables.File
}

// tableState is what a run read of a clean table's state, and what it
// commits with the table.
type tableState struct {
	snapshot int64          // the snapshot the run read; 0: none
	progress *TopicProgress // nil: the topic is listed whole
	totals   clean.TableQuality
	pending  []PendingFile

	// Set by the run before publishing.
	newProgress   *TopicProgress
	remove        []string        // data files the run compacted
	compacted     map[string]bool // the data files holding their rows
	deletes       map[string]bool // the position delete files the run wrote
	removeDeletes []string        // the position delete files they replace
	newPending    []PendingFile   // the pending quarantine files the run commits with the table
}

// PendingFile is a quarantine file that a run committed with a clean table
// (PropPendingQuarantine) and then adds to batch_quarantine.
type PendingFile struct {
	Location string `json:"location"`
	Date     string `json:"date"`
	Rows     int64  `json:"rows"`
	Size     int64  `json:"size"`
	// Full marks the files of a --full run: batch_quarantine is replaced
	// by them (and the files of later runs), not added to.
	Full bool `json:"full,omitempty"`
}

// openWriter opens the catalog and the run's tables, creating those that
// are missing: a catalog or warehouse that cannot be reached fails the run
// before it reads anything.
func openWriter(ctx context.Context, cfg Config) (*writer, error) {
	tc := cfg.Tables
	if err := tc.Resolve(); err != nil {
		return nil, err
	}
	tc.Store, tc.Logger = cfg.Store, cfg.Logger
	cat, err := tables.Open(ctx, tc)
	if err != nil {
		return nil, err
	}
	w := &writer{cat: cat, runID: cfg.RunID, date: cfg.Date, rowsPerFile: cfg.RowsPerFile, logger: cfg.Logger,
		encoders: make(chan struct{}, cfg.Workers), clean: map[clean.Table]*tables.Table{},
		insights: map[string]*tables.Table{}, written: map[*tables.Table][]tables.File{},
		state: map[clean.Table]*tableState{}, qfiles: map[clean.Table][]tables.File{}}
	if b := cat.Warehouse(); b != nil {
		if err := objstore.Check(ctx, b); err != nil {
			cat.Close()
			return nil, fmt.Errorf("warehouse %s is not usable: %w", b.URL(""), err)
		}
	}
	// The tables are loaded (or created) a few at a time: each load parses
	// the table's metadata, which grows with the snapshots it keeps.
	defs := Defs()
	tbls := make([]*tables.Table, len(defs))
	errs := make([]error, len(defs))
	var g errgroup.Group
	g.SetLimit(publishers)
	for i, def := range defs {
		g.Go(func() error {
			tbl, err := cat.Ensure(ctx, def)
			if errors.Is(err, tables.ErrOldVersion) && !def.ByDay {
				if !cfg.Full {
					err = fmt.Errorf("%w: run the batch job once with --full to rebuild the clean tables from everything landed", err)
				} else {
					cfg.Logger.Warn("rebuilding a clean table an older version of pinpipe made", "err", err)
					tbl, err = cat.Recreate(ctx, def)
				}
			}
			tbls[i], errs[i] = tbl, err
			return nil
		})
	}
	_ = g.Wait()
	for _, err := range errs { // the first table's error, whichever failed first
		if err != nil {
			cat.Close()
			return nil, err
		}
	}
	for i, def := range defs {
		switch {
		case def.Name == tables.BatchQuarantine:
			w.quarantine = tbls[i]
		case def.ByDay:
			w.insights[def.Name] = tbls[i]
		default:
			w.clean[clean.Table(def.Name)] = tbls[i]
		}
	}
	return w, nil
}

// Defs are the definitions of the batch job's tables, in the order they are
// committed: the clean tables, the insight tables, the quarantine.
func Defs() []tables.Def {
	var defs []tables.Def
	for _, t := range clean.Tables {
		defs = append(defs, tables.CleanDef(t))
	}
	for _, name := range insights.Names() {
		defs = append(defs, tables.InsightDef(name))
	}
	return append(defs, tables.BatchQuarantineDef())
}

// put writes one data file of tbl (of partition date, for a table by day).
func (w *writer) put(ctx context.Context, tbl *tables.Table, date, name string, rows int, write func(io.Writer) error) (tables.File, error) {
	return w.putFile(ctx, tbl, tables.File{Location: tbl.FileLocation(date, name), Date: date}, rows, write)
}

// putFile writes the data file f of tbl, and returns it as written.
func (w *writer) putFile(ctx context.Context, tbl *tables.Table, f tables.File, rows int, write func(io.Writer) error) (tables.File, error) {
	written, err := tbl.WriteFile(ctx, f.Location, f.Date, int64(rows), write)
	if err != nil {
		return written, fmt.Errorf("writing %s: %w", path.Base(f.Location), err)
	}
	written.Bucket = f.Bucket
	w.mu.Lock()
	w.written[tbl] = append(w.written[tbl], written)
	w.mu.Unlock()
	return written, nil
}

// loadState reads the progress, running totals and pending quarantine files
// of the clean tables, and the files of batch_quarantine. A --full run
// starts from no progress.
func (w *writer) loadState(ctx context.Context, cfg Config) error {
	qf, err := w.quarantine.Files(ctx)
	if err != nil {
		return err
	}
	w.quarantined = map[string]bool{}
	for _, f := range qf {
		w.quarantined[f.Location] = true
	}
	for _, t := range clean.Tables {
		tbl := w.clean[t]
		ts := &tableState{}
		if s := tbl.Iceberg().CurrentSnapshot(); s != nil {
			ts.snapshot = s.SnapshotID
		}
		props := tbl.Properties()
		if !cfg.Full {
			if ts.progress, err = parseProgress(tbl.Name(), props[PropProgress], landing.Topic(cfg.Prefix, t)); err != nil {
				return err
			}
			if ts.progress == nil && ts.snapshot != 0 {
				cfg.Logger.Warn("the clean table has no progress: its topic is read whole, and merged into the table", "table", tbl.Name())
			}
			if raw := props[PropQualityTotal]; raw != "" {
				if err := json.Unmarshal([]byte(raw), &ts.totals); err != nil {
					return fmt.Errorf("table %s: property %s: %w (run with --full to rebuild the state)", tbl.Name(), PropQualityTotal, err)
				}
			}
		}
		if raw := props[PropPendingQuarantine]; raw != "" {
			if err := json.Unmarshal([]byte(raw), &ts.pending); err != nil {
				return fmt.Errorf("table %s: property %s: %w (run with --full to rebuild the state)", tbl.Name(), PropPendingQuarantine, err)
			}
		}
		w.state[t] = ts
	}
	return nil
}

// noState reports whether none of the clean tables was ever committed.
func (w *writer) noState() bool {
	for _, ts := range w.state {
		if ts.snapshot != 0 {
			return false
		}
	}
	return true
}

// progress returns the progress of each topic (nil entries: list whole).
func (w *writer) progress() map[clean.Table]*TopicProgress {
	out := map[clean.Table]*TopicProgress{}
	for t, ts := range w.state {
		if ts.progress != nil {
			out[t] = ts.progress
		}
	}
	return out
}

// writeAll writes the clean tables t (those of a full run; an incremental
// run's are written as they are merged, and t is empty), the quarantine and
// the insight tables, all at the same time. The insight tables are computed
// by compute while the clean tables are being written; writeAll returns
// them.
func (w *writer) writeAll(ctx context.Context, t cleanTables, rejected []parquetio.Rejected, compute func() insights.Tables) (insights.Tables, error) {
	g, ctx := errgroup.WithContext(ctx)
	// The largest first: the pins take the longest to encode.
	g.Go(func() error { return writeTable(ctx, w, w.clean[clean.TablePin], t.pins, pinOps.write) })
	var ins insights.Tables
	g.Go(func() error {
		ins = compute()
		recs, err := ins.Records(memory.DefaultAllocator)
		if err != nil {
			return fmt.Errorf("building the insight tables: %w", err)
		}
		defer func() {
			for _, r := range recs {
				r.Record.Release()
			}
		}()
		gi, ctx := errgroup.WithContext(ctx)
		for _, r := range recs {
			gi.Go(func() error {
				_, err := w.put(ctx, w.insights[r.Name], w.date, PartName(w.runID, 0), int(r.Record.NumRows()), func(out io.Writer) error {
					return parquetio.WriteRecord(out, r.Record, parquetio.Options{Date: w.date})
				})
				return err
			})
		}
		return gi.Wait()
	})
	g.Go(func() error { return writeTable(ctx, w, w.clean[clean.TableGeo], t.geos, geoOps.write) })
	g.Go(func() error { return writeTable(ctx, w, w.clean[clean.TableUser], t.users, userOps.write) })
	// rejected is sorted by table, then source and line: each table's
	// rejected lines go to files of their own, committed with its state.
	for _, tb := range clean.Tables {
		lo := slices.IndexFunc(rejected, func(r parquetio.Rejected) bool { return r.Table == string(tb) })
		if lo < 0 {
			continue
		}
		hi := lo
		for hi < len(rejected) && rejected[hi].Table == string(tb) {
			hi++
		}
		rows := rejected[lo:hi]
		for i, at := 0, 0; at < len(rows); i, at = i+1, at+w.rowsPerFile {
			part := rows[at:min(at+w.rowsPerFile, len(rows))]
			g.Go(func() error {
				f, err := w.put(ctx, w.quarantine, w.date, PartName(w.runID+"-"+string(tb), i), len(part), func(out io.Writer) error {
					return parquetio.WriteRejected(out, part, parquetio.Options{Date: w.date})
				})
				if err != nil {
					return err
				}
				w.mu.Lock()
				w.qfiles[tb] = append(w.qfiles[tb], f)
				w.mu.Unlock()
				return nil
			})
		}
	}
	err := g.Wait()
	return ins, err
}

// order is the tables in commit order.
func (w *writer) order() []*tables.Table {
	var out []*tables.Table
	for _, t := range clean.Tables {
		out = append(out, w.clean[t])
	}
	for _, name := range insights.Names() {
		out = append(out, w.insights[name])
	}
	return append(out, w.quarantine)
}

// files returns the written files as table/name, sorted.
func (w *writer) files() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for tbl, fs := range w.written {
		for _, f := range fs {
			out = append(out, tbl.Def().Name+"/"+path.Base(f.Location))
		}
	}
	slices.Sort(out)
	return out
}

// ErrConcurrentRun is wrapped by the error of a run that found a clean table
// changed by another run between reading its state and committing.
var ErrConcurrentRun = errors.New("another run committed the table meanwhile")

// publishers is how many tables a run commits, or maintains, at a time
// (each commit waits mostly on the catalog and the store).
const publishers = 4

// publish commits the clean tables (their new, compacted and delete files,
// progress, totals and pending quarantine files, in one commit each), then the day's
// partition of each insight table, then the pending quarantine files to
// batch_quarantine, the tables of each step several at a time. full: the
// clean tables' files replace all theirs (a full run); checkState: a clean
// table is committed only over the snapshot the run read (not --full). It
// returns the snapshot ids, by table.
func (w *writer) publish(ctx context.Context, res Result, full, checkState bool) (map[string]int64, error) {
	q, err := json.Marshal(RunQuality{Full: res.Full, Quality: res.Quality})
	if err != nil {
		return nil, fmt.Errorf("encoding the quality report: %w", err)
	}
	summary := iceberg.Properties{SummaryRunID: w.runID, SummaryRunDate: w.date}
	pinSummary := maps.Clone(summary)
	pinSummary[SummaryQuality] = string(q)
	// The tables are committed several at a time: the clean tables (each
	// holds its own state and progress), then the insight tables (each
	// replaces its partition dt=D), then the quarantine (from the clean
	// tables' pending files). A run stopped in between leaves some tables
	// at this run and the others at the previous one; the next run reads
	// from each table's own progress, and replaces dt=D again.
	snaps := map[string]int64{}
	var mu sync.Mutex
	// step commits each table of tbls with the change change(i) makes,
	// publishers at a time; a failed commit does not stop the others, each
	// runs to its end.
	step := func(tbls []*tables.Table, change func(i int) (tables.Change, error)) error {
		var g errgroup.Group
		g.SetLimit(publishers)
		for i, tbl := range tbls {
			g.Go(func() error {
				if err := w.commit(ctx, tbl, func() (tables.Change, error) { return change(i) }); err != nil {
					return fmt.Errorf("publishing %s (tables committed before it or with it may hold this run): %w", tbl.Name(), err)
				}
				mu.Lock()
				defer mu.Unlock()
				snaps[tbl.Def().Name] = tbl.Iceberg().CurrentSnapshot().SnapshotID
				return nil
			})
		}
		return g.Wait()
	}
	var cleans []*tables.Table
	changes := make([]tables.Change, len(clean.Tables))
	for i, t := range clean.Tables {
		sum := summary
		if t == clean.TablePin {
			sum = pinSummary
		}
		if changes[i], err = w.cleanChange(t, res, full, sum); err != nil {
			return snaps, err
		}
		cleans = append(cleans, w.clean[t])
	}
	err = step(cleans, func(i int) (tables.Change, error) {
		tbl, ts := cleans[i], w.state[clean.Tables[i]]
		if !checkState {
			return changes[i], nil
		}
		// The change was made from the state as the run read it: it
		// applies only to that snapshot.
		var cur int64
		if s := tbl.Iceberg().CurrentSnapshot(); s != nil {
			cur = s.SnapshotID
		}
		if cur != ts.snapshot {
			return changes[i], fmt.Errorf("table %s: %w (snapshot %d, read %d): this run committed nothing to it; run it again", tbl.Name(), ErrConcurrentRun, cur, ts.snapshot)
		}
		return changes[i], nil
	})
	if err != nil {
		return snaps, err
	}
	var ins []*tables.Table
	for _, name := range insights.Names() {
		ins = append(ins, w.insights[name])
	}
	err = step(ins, func(i int) (tables.Change, error) {
		return tables.Change{Add: w.sortedWritten(ins[i]), ReplaceDay: w.date, Summary: summary}, nil
	})
	if err != nil {
		return snaps, err
	}
	if err := w.publishQuarantine(ctx, summary); err != nil {
		return snaps, fmt.Errorf("publishing %s (the other tables hold this run; the next run adds its rejected lines): %w", w.quarantine.Name(), err)
	}
	if s := w.quarantine.Iceberg().CurrentSnapshot(); s != nil {
		snaps[w.quarantine.Def().Name] = s.SnapshotID
	}
	return snaps, nil
}

// cleanChange is the commit of clean table t: its new, compacted and
// delete files, and the properties that go with them.
func (w *writer) cleanChange(t clean.Table, res Result, full bool, summary iceberg.Properties) (tables.Change, error) {
	tbl, ts := w.clean[t], w.state[t]
	prog, err := json.Marshal(ts.newProgress)
	if err != nil {
		return tables.Change{}, err
	}
	tot, err := json.Marshal(runningTotal(t, ts.totals, *res.Quality.Table(t)))
	if err != nil {
		return tables.Change{}, err
	}
	var pending []PendingFile
	if !full {
		for _, p := range ts.pending {
			if !w.quarantined[p.Location] {
				pending = append(pending, p)
			}
		}
	}
	for _, f := range w.qfiles[t] {
		pending = append(pending, PendingFile{Location: f.Location, Date: f.Date, Rows: f.Rows, Size: f.Size, Full: full})
	}
	slices.SortStableFunc(pending, func(a, b PendingFile) int { return strings.Compare(a.Date, b.Date) })
	ts.newPending = pending
	pend, err := json.Marshal(pending)
	if err != nil {
		return tables.Change{}, err
	}
	var add, compacted, addDel []tables.File
	for _, f := range w.sortedWritten(tbl) {
		switch {
		case ts.compacted[f.Location]:
			compacted = append(compacted, f)
		case ts.deletes[f.Location]:
			addDel = append(addDel, f)
		default:
			add = append(add, f)
		}
	}
	return tables.Change{
		Add: add, Compacted: compacted, AddDeletes: addDel, Remove: ts.remove, RemoveDeletes: ts.removeDeletes, ReplaceAll: full, Summary: summary,
		Properties: iceberg.Properties{PropProgress: string(prog), PropQualityTotal: string(tot), PropPendingQuarantine: string(pend)},
	}, nil
}

// runningTotal returns total plus the counts of q, the report of table t;
// rows written is the table's size after the run, not a sum. total is not
// modified.
func runningTotal(t clean.Table, total, q clean.TableQuality) clean.TableQuality {
	var sum clean.TableQuality
	sum.Merge(total)
	sum.Merge(q)
	sum.RowsWritten = q.RowsWritten
	var norm clean.Quality
	*norm.Table(t) = sum
	norm.Normalize()
	return *norm.Table(t)
}

// publishQuarantine adds to batch_quarantine the pending quarantine files
// the run committed with the three clean tables that it does not hold yet;
// when one of them is a --full run's, they replace the table's files.
func (w *writer) publishQuarantine(ctx context.Context, summary iceberg.Properties) error {
	return w.commit(ctx, w.quarantine, func() (tables.Change, error) {
		cur, err := w.quarantine.Files(ctx)
		if err != nil {
			return tables.Change{}, err
		}
		have := map[string]bool{}
		for _, f := range cur {
			have[f.Location] = true
		}
		var add []tables.File
		full := false
		for _, t := range clean.Tables {
			for _, p := range w.state[t].newPending {
				if !have[p.Location] {
					add = append(add, tables.File{Location: p.Location, Date: p.Date, Rows: p.Rows, Size: p.Size})
					full = full || p.Full
				}
			}
		}
		slices.SortFunc(add, func(a, b tables.File) int { return strings.Compare(a.Location, b.Location) })
		return tables.Change{Add: add, ReplaceAll: full, Summary: summary}, nil
	})
}

// sortedWritten returns the files written for tbl, sorted by location.
func (w *writer) sortedWritten(tbl *tables.Table) []tables.File {
	files := slices.Clone(w.written[tbl])
	slices.SortFunc(files, func(a, b tables.File) int { return strings.Compare(a.Location, b.Location) })
	return files
}

// commit commits the change that change makes from tbl as last loaded; a
// commit that fails (another writer came first, or the catalog failed) is
// made again on the reloaded table, unless change refuses it.
func (w *writer) commit(ctx context.Context, tbl *tables.Table, change func() (tables.Change, error)) error {
	return retry.Do(ctx, retry.Policy{Initial: 50 * time.Millisecond, MaxAttempts: publishAttempts,
		Notify: func(err error, attempt int, wait time.Duration) {
			w.logger.Warn("committing, will reload the table and commit again", "table", tbl.Name(), "attempt", attempt, "err", err)
		}}, func(ctx context.Context) error {
		ch, err := change()
		if err != nil {
			return retry.Permanent(err)
		}
		if err := tbl.Commit(ctx, ch); err != nil {
			if rerr := tbl.Refresh(ctx); rerr != nil {
				return fmt.Errorf("%w; reloading: %w", err, rerr)
			}
			return err
		}
		return nil
	})
}

// writeQuality writes quality.json beside the tables (when the warehouse is
// pinpipe's: not for a REST catalog's own).
func (w *writer) writeQuality(ctx context.Context, res Result) error {
	b := w.cat.Warehouse()
	if b == nil {
		return nil
	}
	data, err := encodeQuality(res)
	if err != nil {
		return fmt.Errorf("encoding quality.json: %w", err)
	}
	key := QualityFile(w.cat.Namespace(), w.date)
	if err := b.Put(ctx, key, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	return nil
}

// cleanup deletes the data files the run wrote (best effort, not
// interrupted): nothing lists them. A file whose upload the run gave up on
// and the store completed anyway is an orphan file, which maintenance
// deletes.
func (w *writer) cleanup(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	w.mu.Lock()
	files := maps.Clone(w.written)
	w.mu.Unlock()
	var g errgroup.Group
	g.SetLimit(16)
	for _, fs := range files {
		for _, f := range fs {
			g.Go(func() error {
				b, key, err := w.cat.Store(ctx, f.Location)
				if err == nil {
					err = b.Delete(ctx, key)
				}
				if err != nil {
					w.logger.Warn("deleting a file of the stopped run", "file", f.Location, "err", err)
				}
				return nil
			})
		}
	}
	_ = g.Wait()
}

// maintain runs the tables' maintenance, a few tables at a time, logging
// what it did. The tables are as this run committed them (tables.Maintenance.Loaded).
func (w *writer) maintain(ctx context.Context, m tables.Maintenance) {
	m.Loaded = true
	var swept atomic.Bool
	var g errgroup.Group
	g.SetLimit(publishers)
	for _, tbl := range w.order() {
		g.Go(func() error {
			res, err := tbl.Maintain(ctx, m)
			if err != nil {
				w.logger.Warn("maintaining a table; the next run tries again", "table", tbl.Name(), "err", err)
				return nil
			}
			if res.Swept {
				swept.Store(true)
			}
			if res.ExpiredSnapshots+res.RemovedFiles > 0 {
				w.logger.Info("maintained", "table", tbl.Name(), "expired_snapshots", res.ExpiredSnapshots, "removed_files", res.RemovedFiles)
			}
			return nil
		})
	}
	_ = g.Wait()
	// The temporary files killed writers left in the file store's
	// warehouse are orphans too, and looking for them walks the whole
	// warehouse, whose size follows the history: they are looked for when
	// a table's orphan files are (Maintenance.OrphanInterval).
	if b := w.cat.Warehouse(); b != nil && swept.Load() {
		if n, err := objstore.SweepTemp(ctx, b, ""); err != nil {
			w.logger.Warn("removing temporary files left by killed writers", "err", err)
		} else if n > 0 {
			w.logger.Info("removed temporary files left by killed writers", "files", n)
		}
	}
}
