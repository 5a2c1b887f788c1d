package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"golang.org/x/sync/errgroup"

	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// Snapshot summary properties of the run's commits (tables.md §3).
const (
	SummaryRunID   = "pinpipe.run-id"
	SummaryRunDate = "pinpipe.run-date"
	// SummaryQuality holds the run's quality report (counts and quality,
	// as in quality.json, without the run section).
	SummaryQuality = "pinpipe.quality"
)

// QualityFile is the key of a run's quality.json under the warehouse:
// {namespace}.db/_quality/dt={date}/quality.json, beside the tables.
func QualityFile(namespace, date string) string {
	return namespace + ".db/_quality/dt=" + date + "/quality.json"
}

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

	mu      sync.Mutex
	written map[*tables.Table][]tables.File
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
		insights: map[string]*tables.Table{}, written: map[*tables.Table][]tables.File{}}
	if b := cat.Warehouse(); b != nil {
		if err := objstore.Check(ctx, b); err != nil {
			cat.Close()
			return nil, fmt.Errorf("warehouse %s is not usable: %w", b.URL(""), err)
		}
		if n, err := objstore.SweepTemp(ctx, b, ""); err != nil {
			cfg.Logger.Warn("removing temporary files left by killed writers", "err", err)
		} else if n > 0 {
			cfg.Logger.Info("removed temporary files left by killed writers", "files", n)
		}
	}
	for _, def := range Defs() {
		tbl, err := cat.Ensure(ctx, def)
		if err != nil {
			cat.Close()
			return nil, err
		}
		switch {
		case def.Name == tables.BatchQuarantine:
			w.quarantine = tbl
		case def.ByDay:
			w.insights[def.Name] = tbl
		default:
			w.clean[clean.Table(def.Name)] = tbl
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
func (w *writer) put(ctx context.Context, tbl *tables.Table, date, name string, rows int, write func(io.Writer) error) error {
	f, err := tbl.WriteFile(ctx, tbl.FileLocation(date, name), date, int64(rows), write)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	w.mu.Lock()
	w.written[tbl] = append(w.written[tbl], f)
	w.mu.Unlock()
	return nil
}

// writeSplit writes rows in files of at most rowsPerFile rows (one file, maybe
// empty, at least). The files are encoded at the same time, at most
// w.encoders in all across the writer's calls.
func writeSplit[R any](ctx context.Context, w *writer, tbl *tables.Table, date string, rows []R, write func(io.Writer, []R, parquetio.Options) error) error {
	opts := parquetio.Options{Date: date}
	g, ctx := errgroup.WithContext(ctx)
	for i, lo := 0, 0; lo < len(rows) || i == 0; i, lo = i+1, lo+w.rowsPerFile {
		part := rows[lo:min(lo+w.rowsPerFile, len(rows))]
		g.Go(func() error {
			select {
			case w.encoders <- struct{}{}:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			defer func() { <-w.encoders }()
			return w.put(ctx, tbl, date, PartName(w.runID, i), len(part), func(out io.Writer) error { return write(out, part, opts) })
		})
	}
	return g.Wait()
}

// writeAll writes the clean tables, the quarantine and the insight tables,
// all at the same time. The insight tables are computed by compute while the
// clean tables are being written; writeAll returns them.
func (w *writer) writeAll(ctx context.Context, t cleanTables, rejected []parquetio.Rejected, compute func() insights.Tables) (insights.Tables, error) {
	g, ctx := errgroup.WithContext(ctx)
	// The largest first: the pins take the longest to encode.
	g.Go(func() error {
		return writeSplit(ctx, w, w.clean[clean.TablePin], "", t.pins, func(out io.Writer, rows []clean.Pin, o parquetio.Options) error {
			return parquetio.WritePins(out, rows, nil, o)
		})
	})
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
				return w.put(ctx, w.insights[r.Name], w.date, PartName(w.runID, 0), int(r.Record.NumRows()), func(out io.Writer) error {
					return parquetio.WriteRecord(out, r.Record, parquetio.Options{Date: w.date})
				})
			})
		}
		return gi.Wait()
	})
	g.Go(func() error {
		return writeSplit(ctx, w, w.clean[clean.TableGeo], "", t.geos, func(out io.Writer, rows []clean.Geo, o parquetio.Options) error {
			return parquetio.WriteGeos(out, rows, nil, o)
		})
	})
	g.Go(func() error {
		return writeSplit(ctx, w, w.clean[clean.TableUser], "", t.users, func(out io.Writer, rows []clean.User, o parquetio.Options) error {
			return parquetio.WriteUsers(out, rows, nil, o)
		})
	})
	// rejected is sorted by table, then source and line: one quarantine
	// table holds the three tables' rejects, in that order.
	g.Go(func() error {
		return writeSplit(ctx, w, w.quarantine, w.date, rejected, func(out io.Writer, rows []parquetio.Rejected, o parquetio.Options) error {
			return parquetio.WriteRejected(out, rows, o)
		})
	})
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

// publish commits each table in turn: its files replace the clean table's
// (or the day's partition of an insight table and the quarantine). A commit
// that meets another writer's is made again on the reloaded table. It
// returns the snapshot ids, by table.
func (w *writer) publish(ctx context.Context, res Result) (map[string]int64, error) {
	q, err := json.Marshal(qualityReport(res))
	if err != nil {
		return nil, fmt.Errorf("encoding the quality report: %w", err)
	}
	summary := iceberg.Properties{SummaryRunID: w.runID, SummaryRunDate: w.date, SummaryQuality: string(q)}
	snaps := map[string]int64{}
	for _, tbl := range w.order() {
		files := slices.Clone(w.written[tbl])
		slices.SortFunc(files, func(a, b tables.File) int { return strings.Compare(a.Location, b.Location) })
		ch := tables.Change{Add: files, Summary: summary}
		if tbl.Def().ByDay {
			ch.ReplaceDay = w.date
		} else {
			ch.ReplaceAll = true
		}
		err := retry.Do(ctx, retry.Policy{Initial: 50 * time.Millisecond, MaxAttempts: publishAttempts,
			Notify: func(err error, attempt int, wait time.Duration) {
				w.logger.Warn("committing, will reload the table and commit again", "table", tbl.Name(), "attempt", attempt, "err", err)
			}}, func(ctx context.Context) error {
			if err := tbl.Commit(ctx, ch); err != nil {
				if rerr := tbl.Refresh(ctx); rerr != nil {
					return fmt.Errorf("%w; reloading: %w", err, rerr)
				}
				return err
			}
			return nil
		})
		if err != nil {
			return snaps, fmt.Errorf("publishing %s (the tables committed before it hold this run): %w", tbl.Name(), err)
		}
		snaps[tbl.Def().Name] = tbl.Iceberg().CurrentSnapshot().SnapshotID
	}
	return snaps, nil
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

// maintain runs the tables' maintenance, logging what it did.
func (w *writer) maintain(ctx context.Context, m tables.Maintenance) {
	for _, tbl := range w.order() {
		res, err := tbl.Maintain(ctx, m)
		if err != nil {
			w.logger.Warn("maintaining a table; the next run tries again", "table", tbl.Name(), "err", err)
			continue
		}
		if res.ExpiredSnapshots+res.RemovedFiles > 0 {
			w.logger.Info("maintained", "table", tbl.Name(), "expired_snapshots", res.ExpiredSnapshots, "removed_files", res.RemovedFiles)
		}
	}
}
