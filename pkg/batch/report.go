package batch

import (
	"bytes"
	"cmp"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go/table"
	"golang.org/x/sync/errgroup"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/report"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// ReportDays is how many dates of each insight table the report's trend
// shows: the latest ones the table holds.
const ReportDays = 30

// writeReport writes report.html beside quality.json (when the warehouse is
// pinpipe's) and returns its URL: the run's insight tables and quality, and
// their trend from the tables' history (the runs the clean table pin's
// snapshots remember, and the latest ReportDays dates of each insight
// table). Called after publishing.
func (w *writer) writeReport(ctx context.Context, res Result) (string, error) {
	b := w.cat.Warehouse()
	if b == nil {
		return "", nil
	}
	rep := report.Batch{Namespace: w.cat.Namespace(), Date: res.Date, RunID: res.RunID, Full: res.Full,
		Quality: res.Quality, Totals: res.Totals}
	var err error
	if rep.Insights, err = report.InsightTables(res.Insights, memory.DefaultAllocator); err != nil {
		return "", err
	}
	if rep.Runs, err = w.runHistory(); err != nil {
		return "", err
	}
	if rep.InsightHistory, err = w.insightHistories(ctx); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := report.WriteBatch(&buf, rep); err != nil {
		return "", fmt.Errorf("rendering the report: %w", err)
	}
	key := ReportFile(w.cat.Namespace(), w.date)
	if err := b.Put(ctx, key, &buf); err != nil {
		return "", fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	return b.URL(key), nil
}

// runHistory lists the runs that the snapshots of the clean table pin
// remember (every run commits it once), oldest first.
func (w *writer) runHistory() ([]report.Run, error) {
	tbl := w.clean[clean.TablePin]
	snaps := tbl.Iceberg().Metadata().Snapshots()
	slices.SortStableFunc(snaps, func(a, b table.Snapshot) int { return cmp.Compare(a.TimestampMs, b.TimestampMs) })
	var runs []report.Run
	seen := map[string]bool{}
	for _, s := range snaps {
		if s.Summary == nil {
			continue
		}
		p := s.Summary.Properties
		id, raw := p[SummaryRunID], p[SummaryQuality]
		if id == "" || raw == "" || seen[id] {
			continue
		}
		seen[id] = true
		var q RunQuality
		if err := json.Unmarshal([]byte(raw), &q); err != nil {
			return nil, fmt.Errorf("table %s, snapshot %d: property %s: %w", tbl.Name(), s.SnapshotID, SummaryQuality, err)
		}
		runs = append(runs, report.Run{Date: p[SummaryRunDate], RunID: id, Full: q.Full, Quality: q.Quality})
	}
	return runs, nil
}

// HistoryCacheFile is the key, in the warehouse, of the insight files the
// last report read (historyCache).
func HistoryCacheFile(namespace string) string {
	return namespace + ".db/_quality/insight-history.gob"
}

// oldHistoryCacheFile is where older versions kept the cache, as JSON; a
// run that rebuilds the cache removes it.
func oldHistoryCacheFile(namespace string) string {
	return namespace + ".db/_quality/insight-history.json"
}

// historyCache holds the rows of the insight tables' data files a report
// read, by file location. A data file never changes once written (a date
// published again is a new file), so a cached file's rows are its rows for
// as long as the file is in the table: a run reads from the store only the
// files that are new since the last report (usually one per table), not
// ReportDays of them. Any run may replace the cache (the last one wins);
// a cache that is missing, unreadable or of another version is rebuilt.
// It is a gob: by day 30 it holds about 10,000 cells a table, which JSON
// took 13 ms to decode and gob takes 4.
type historyCache struct {
	Version int
	Files   map[string]report.Table
}

const historyCacheVersion = 2

// encodeHistoryCache and decodeHistoryCache are the cache's file format.
func encodeHistoryCache(w io.Writer, c historyCache) error {
	return gob.NewEncoder(w).Encode(c)
}

func decodeHistoryCache(r io.Reader) (historyCache, error) {
	var c historyCache
	if err := gob.NewDecoder(r).Decode(&c); err != nil {
		return historyCache{}, err
	}
	if c.Version != historyCacheVersion {
		return historyCache{}, fmt.Errorf("version %d, want %d", c.Version, historyCacheVersion)
	}
	return c, nil
}

// insightHistories returns the history of each insight table (insightHistory),
// through the history cache.
func (w *writer) insightHistories(ctx context.Context) ([]report.Table, error) {
	b := w.cat.Warehouse()
	key := HistoryCacheFile(w.cat.Namespace())
	cache := w.readHistoryCache(ctx, b, key)
	next := historyCache{Version: historyCacheVersion, Files: map[string]report.Table{}}
	var mu sync.Mutex
	read := func(ctx context.Context, name, location string) (report.Table, error) {
		t, ok := cache.Files[location]
		if !ok {
			var err error
			if t, err = w.readInsightFile(ctx, name, location); err != nil {
				return t, err
			}
		}
		mu.Lock()
		next.Files[location] = t
		mu.Unlock()
		return t, nil
	}
	out := make([]report.Table, len(insights.Names()))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, name := range insights.Names() {
		g.Go(func() error {
			var err error
			out[i], err = w.insightHistory(gctx, name, read)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err := encodeHistoryCache(&buf, next)
	if err == nil {
		err = b.Put(ctx, key, &buf)
	}
	if err != nil {
		// The cache only saves reads: the report is written without it.
		w.logger.Warn("writing the report's history cache; the next report reads the insight tables' files", "key", b.URL(key), "err", err)
	} else if len(cache.Files) == 0 {
		// A cache rebuilt: the old format's file, if any, is of no use.
		if err := b.Delete(ctx, oldHistoryCacheFile(w.cat.Namespace())); err != nil && !errors.Is(err, objstore.ErrNotFound) {
			w.logger.Warn("removing the report's old history cache", "err", err)
		}
	}
	return out, nil
}

// readHistoryCache reads the history cache; a missing or unusable one is empty.
func (w *writer) readHistoryCache(ctx context.Context, b objstore.Bucket, key string) historyCache {
	var c historyCache
	rc, err := b.Get(ctx, key)
	if err != nil {
		if !errors.Is(err, objstore.ErrNotFound) {
			w.logger.Warn("reading the report's history cache; reading the insight tables' files instead", "key", b.URL(key), "err", err)
		}
		return c
	}
	defer rc.Close()
	c, err = decodeHistoryCache(rc)
	if err != nil {
		w.logger.Warn("the report's history cache is unreadable or of another version; reading the insight tables' files instead", "key", b.URL(key), "err", err)
	}
	return c
}

// insightHistory reads the rows of insight table name on the latest
// ReportDays dates it holds, with their date (column dt), by date; read
// gives the rows of one of its files.
func (w *writer) insightHistory(ctx context.Context, name string, read func(ctx context.Context, name, location string) (report.Table, error)) (report.Table, error) {
	tbl := w.insights[name]
	files, err := tbl.Files(ctx)
	if err != nil {
		return report.Table{}, err
	}
	var dates []string
	for _, f := range files {
		dates = append(dates, f.Date)
	}
	slices.Sort(dates)
	dates = slices.Compact(dates)
	if len(dates) > ReportDays {
		dates = dates[len(dates)-ReportDays:]
	}
	slices.SortStableFunc(files, func(a, b tables.CurrentFile) int { return cmp.Compare(a.Date, b.Date) })
	out := report.Table{Name: name}
	for _, f := range files {
		if _, ok := slices.BinarySearch(dates, f.Date); !ok {
			continue
		}
		t, err := read(ctx, name, f.Location)
		if err != nil {
			return report.Table{}, err
		}
		if out.Columns == nil {
			out.Columns = t.Columns
		}
		if !slices.Equal(out.Columns, t.Columns) {
			return report.Table{}, fmt.Errorf("table %s: file %s has columns %v, want %v", tbl.Name(), f.Location, t.Columns, out.Columns)
		}
		out.Rows = append(out.Rows, t.Rows...)
	}
	if out.Columns == nil { // no file: the columns of the files, then dt
		if out.Columns, err = report.Columns(insights.Schema(name)); err != nil {
			return report.Table{}, fmt.Errorf("table %s: %w", tbl.Name(), err)
		}
		out.Columns = append(out.Columns, report.Column{Name: report.DateColumn})
	}
	return out, nil
}

func (w *writer) readInsightFile(ctx context.Context, name, location string) (report.Table, error) {
	data, err := readFile(ctx, w, w.insights[name], location)
	if err != nil {
		return report.Table{}, err
	}
	at, err := parquetio.ReadTable(bytes.NewReader(data), memory.DefaultAllocator)
	if err != nil {
		return report.Table{}, fmt.Errorf("%s: %w", location, err)
	}
	defer at.Release()
	t, err := report.FromArrow(name, at)
	if err != nil {
		return report.Table{}, fmt.Errorf("%s: %w", location, err)
	}
	return t, nil
}
