// Package batch is the daily batch job of pinpipe as a library: it reads the
// landing layout of data.md §5 for the three topics of a prefix, cleans every
// line with pkg/clean, keeps one row per ind per table (the last by partition,
// then offset), computes the nine insight tables of insights.md and publishes
// them to Apache Iceberg tables (tables.md).
//
// # State and incremental runs
//
// The clean tables pin, geo and user are the state: one row per ind with
// the origin of the row that won (partition, offset, object key), bucketed
// by ind. Each topic's progress (progress.go) is a property of its clean
// table, set in the same commit as the rows. A run lists only what landed
// since (state.go, progress.go), merges the rows of the new objects into the
// state by the same rule (new rows in a file of each bucket they fall in,
// the rows they replace as position deletes), recomputes the
// insight tables from the whole state as partition dt={date}, and adds its
// rejected lines to batch_quarantine. Config.Full (or no state yet) reads
// everything and replaces the state.
//
// # Offsets
//
// The offset of line k (0-based) of an object is the start offset in the
// object's name plus k. Every line counts, blank and rejected lines included,
// because the Kafka to S3 sink writes exactly one line per record. Rows are
// ordered by (partition, offset) within a topic, and the last row of an ind
// wins.
//
// # Publishing
//
// A run writes its data files into the tables' locations under names no other
// run uses, then commits each table in turn: a reader of a table sees the
// previous run or this one, never a mix; between two tables' commits (a few
// milliseconds to seconds) a reader of several tables may see some at the
// new run and others at the previous one, and each snapshot's summary names
// its run (pinpipe.run-id, pinpipe.run-date). A commit that meets another
// writer's (a run of the same date at the same time) is made again on top of
// it: each table ends with one run's files; neither run deletes the other's
// files (replaced files are deleted only by maintenance, once no kept
// snapshot lists them). A run stopped or failing before publishing commits
// nothing and deletes the files it wrote.
//
// # Determinism
//
// The data files (Parquet) of a run depend only on the input: re-running the
// same date gives byte-identical files, whatever the concurrency. quality.json
// holds the same counts, plus the run's id and timings in a separate "run"
// section.
package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// Defaults of Config.
const (
	// DefaultConcurrency is the default number of objects read at the same
	// time. Reading is mostly waiting on the store (an S3 GET of a small
	// object is a round trip), so it is well above the number of cores.
	DefaultConcurrency = 64
	// DefaultRowsPerFile is the default maximum number of rows of one clean
	// or quarantine Parquet file: about 100 MB of pins before compression.
	// The files of a table are encoded at the same time (Config.Workers).
	DefaultRowsPerFile = 250_000
	// DefaultObjectAttempts is the default number of times one object is
	// read from its start before the run fails.
	DefaultObjectAttempts = 3
	// DefaultKeepSnapshots is the default number of snapshots of each
	// table that maintenance keeps (Config.Maintenance's KeepSnapshots and,
	// unless set higher, MaxSnapshots): a run makes one (two in a clean
	// table whose files it compacts), so about two weeks of daily runs.
	// Every commit parses the table's metadata, which lists the snapshots
	// kept, and writes it again (iceberg-go parses it at about 15 MB/s):
	// with the 100 the tables keep by default, that cost would grow with
	// the runs for three months. Measured on a small day (2,001 objects,
	// BENCHMARKS.md): 0.555 s with 40 snapshots a table, 0.485 s with 5.
	DefaultKeepSnapshots = 14
	// DefaultSnapshotHeadroom is the default Maintenance.Headroom: the
	// snapshots of a table expire once more than this many would, so a
	// table holds 14 to 21 and its expiry, a commit of its own, comes every
	// few runs.
	DefaultSnapshotHeadroom = DefaultKeepSnapshots / 2
	// DateLayout is the layout of Config.Date.
	DateLayout = "2006-01-02"
	// DateToday and DateYesterday are the relative values of Config.Date.
	DateToday     = "today"
	DateYesterday = "yesterday"
)

// Config configures Run.
type Config struct {
	// Input is the URL of the landing root: s3://bucket/topics, file:///dir or
	// a path. Required.
	Input string
	// Prefix is the deployment prefix P: the topics are P.pin, P.geo, P.user.
	// Required.
	Prefix string
	// Tables names the catalog, warehouse and namespace of the output
	// tables. Required: a warehouse (and a catalog with an S3 warehouse).
	Tables tables.Config
	// Full rebuilds the clean tables from everything landed, rather than
	// merging what landed since the last run into them; batch_quarantine
	// then holds this run's rejected lines only. A run with no state yet is
	// a full one anyway.
	Full bool
	// CloseGaps takes the offsets not landed yet (Result.Gaps) as never to
	// land: later runs do not wait for them. For offsets the sink skipped
	// for good; an object that lands there later is not read.
	CloseGaps bool
	// Maintain runs the tables' maintenance after publishing (snapshot
	// expiry, orphan files). Default: false; batchjob's --maintain is on.
	Maintain bool
	// Report writes report.html beside quality.json after publishing: the
	// run's insight tables as charts and tables, its quality, and their
	// trend from the tables' history (pkg/report). Default: false;
	// batchjob's --report is on.
	Report bool
	// Maintenance settings of Maintain. Default: tables.Maintenance's,
	// with the batch job's snapshots kept (WithMaintenanceDefaults).
	Maintenance tables.Maintenance
	// Date is the run date, YYYY-MM-DD, or DateToday or DateYesterday (UTC,
	// at the start of the run; a scheduler without templates, such as a
	// Kubernetes CronJob, runs just after midnight for the day that ended).
	// Default: today, UTC.
	Date string
	// Concurrency is the number of objects read at the same time. Objects are
	// cut into blocks of lines that Workers goroutines clean.
	// Default: DefaultConcurrency.
	Concurrency int
	// Workers is the number of goroutines that clean lines, and of the
	// Parquet files written at the same time.
	// Default: runtime.GOMAXPROCS(0).
	Workers int
	// RowsPerFile is the maximum number of rows of one clean or quarantine
	// Parquet file; larger tables are split into part-00000, part-00001, ...
	// in ind order. Default: DefaultRowsPerFile.
	RowsPerFile int
	// ObjectAttempts is how many times an object is read from its start when
	// reading it fails part way (after the store's own retries).
	// Default: DefaultObjectAttempts.
	ObjectAttempts int
	// RunID names this run's files and snapshots. Default: time and random.
	RunID string
	// Store configures the input and warehouse stores.
	Store objstore.Options
	// Logger receives progress and warnings. Default: nil, silent.
	Logger *slog.Logger
	// Progress, when set, is updated while the run reads its input.
	Progress *Progress
	// Now returns the current time, for the default Date. Default: time.Now.
	Now func() time.Time
}

// Progress is updated by Run while it reads; another goroutine may read it.
type Progress struct {
	ObjectsTotal atomic.Int64 // grows while the input is listed
	ObjectsDone  atomic.Int64
	Lines        atomic.Int64
	Bytes        atomic.Int64 // object bytes as stored (compressed)
}

// Validate reports a configuration that cannot work. It does no I/O.
func (c Config) Validate() error {
	var errs []error
	if c.Input == "" {
		errs = append(errs, errors.New("input URL is required"))
	}
	if err := c.Tables.Check(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Maintenance.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Prefix == "" {
		errs = append(errs, errors.New("prefix is required"))
	} else if strings.ContainsAny(c.Prefix, "/+") {
		errs = append(errs, fmt.Errorf("prefix %q must not contain '/' or '+'", c.Prefix))
	}
	if err := CheckDate(c.Date); err != nil {
		errs = append(errs, err)
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency is %d, want >= 1 (0 means %d)", c.Concurrency, DefaultConcurrency))
	}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers is %d, want >= 1 (0 means GOMAXPROCS)", c.Workers))
	}
	if c.RowsPerFile < 0 {
		errs = append(errs, fmt.Errorf("rows per file is %d, want >= 1", c.RowsPerFile))
	}
	if c.ObjectAttempts < 0 {
		errs = append(errs, fmt.Errorf("object attempts is %d, want >= 1", c.ObjectAttempts))
	}
	if c.RunID != "" && (strings.Contains(c.RunID, "/") || strings.HasPrefix(c.RunID, ".")) {
		errs = append(errs, fmt.Errorf("run id %q must not contain '/' or start with '.'", c.RunID))
	}
	if err := c.Store.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CheckDate reports a value of Config.Date that is none of YYYY-MM-DD,
// DateToday, DateYesterday or empty.
func CheckDate(s string) error {
	if s == "" || s == DateToday || s == DateYesterday {
		return nil
	}
	if _, err := ParseDate(s); err != nil {
		return fmt.Errorf("%w, %s or %s", err, DateToday, DateYesterday)
	}
	return nil
}

// ParseDate parses a run date YYYY-MM-DD.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil || t.Format(DateLayout) != s {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD, a real calendar date", s)
	}
	return t, nil
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	switch c.Date {
	case "", DateToday:
		c.Date = c.Now().UTC().Format(DateLayout)
	case DateYesterday:
		c.Date = c.Now().UTC().AddDate(0, 0, -1).Format(DateLayout)
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.RowsPerFile == 0 {
		c.RowsPerFile = DefaultRowsPerFile
	}
	if c.ObjectAttempts == 0 {
		c.ObjectAttempts = DefaultObjectAttempts
	}
	c.Maintenance = WithMaintenanceDefaults(c.Maintenance)
	if c.RunID == "" {
		c.RunID = fmt.Sprintf("%s-%08x", c.Now().UTC().Format("20060102T150405Z"), rand.Uint32())
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = new(Progress)
	}
	return c
}

// WithMaintenanceDefaults returns m with the batch job's defaults where m
// has none (Config.Maintenance): DefaultKeepSnapshots snapshots kept, with
// DefaultSnapshotHeadroom (when KeepSnapshots is not set), at most that many
// (or KeepSnapshots, when higher) whatever their age, and expiries that
// leave the files to the orphan search (tables.Maintenance.WithSnapshots).
func WithMaintenanceDefaults(m tables.Maintenance) tables.Maintenance {
	return m.WithSnapshots(DefaultKeepSnapshots, DefaultSnapshotHeadroom)
}

// Counts are the input counts of one table's topic.
type Counts struct {
	Objects        int64 `json:"objects"`
	Bytes          int64 `json:"bytes"` // as stored (compressed for .json.gz)
	Lines          int64 `json:"lines"` // every line, blank ones included
	SkippedObjects int64 `json:"skipped_objects"`
}

// Timings are the wall-clock durations of the phases of a run, in
// milliseconds. They vary from run to run.
type Timings struct {
	// ListMS is listing the input; the objects are read as they are
	// listed, so it overlaps ReadMS.
	ListMS int64 `json:"list_ms"`
	ReadMS int64 `json:"read_ms"` // listing, reading, cleaning and de-duplicating
	// ComputeMS is sorting the tables, then computing the insight tables;
	// the latter runs while the clean tables are written, so it overlaps
	// WriteMS.
	ComputeMS int64 `json:"compute_ms"`
	// ScanMS is reading the state's data and delete files (for the
	// insight columns and the origins), which overlaps ReadMS.
	ScanMS int64 `json:"scan_ms,omitempty"`
	// MergeMS is waiting for that read to end, then merging the rows read
	// into the state.
	MergeMS   int64 `json:"merge_ms"`
	WriteMS   int64 `json:"write_ms"` // Parquet files to the tables' locations
	PublishMS int64 `json:"publish_ms"`
	TotalMS   int64 `json:"total_ms"`
}

// Result is what a successful run did.
type Result struct {
	Date   string `json:"date"`
	RunID  string `json:"run_id"`
	Input  string `json:"input"`
	Prefix string `json:"prefix"`
	// Published names the catalog and namespace the tables were committed to.
	Published string `json:"published"`
	// Counts per table ("pin", "geo", "user").
	Counts map[clean.Table]Counts `json:"counts"`
	// EmptyTopics lists the topics that had no objects (their tables are empty).
	EmptyTopics []string `json:"empty_topics"`
	// Full is set when the run rebuilt the state from everything landed
	// (--full, or no state yet).
	Full bool `json:"full"`
	// Quality counts the lines this run read; Totals those of every run
	// since the last full one, this one included.
	Quality clean.Quality `json:"quality"`
	Totals  clean.Quality `json:"totals"`
	// Gaps are offsets not landed yet with later objects read.
	Gaps []Gap `json:"gaps,omitempty"`
	// Report is the URL of the run's report.html; empty when Config.Report
	// is off, the warehouse is not pinpipe's, or writing it failed (logged).
	Report string `json:"report,omitempty"`
	// Files lists the committed data files as table/name, sorted.
	Files []string `json:"files"`
	// Snapshots are the snapshot ids the run committed, by table.
	Snapshots map[string]int64 `json:"snapshots"`
	Insights  insights.Tables  `json:"-"`
	Timings   Timings          `json:"timings"`
}

// Lines is the number of lines read across the three topics.
func (r Result) Lines() int64 {
	var n int64
	for _, c := range r.Counts {
		n += c.Lines
	}
	return n
}

// Objects is the number of objects read across the three topics.
func (r Result) Objects() int64 {
	var n int64
	for _, c := range r.Counts {
		n += c.Objects
	}
	return n
}

// Run runs the batch job once. It fails fast when the input, the catalog or
// the warehouse cannot be reached; a topic with no objects is not an error
// (its table is empty and Result.EmptyTopics names it). When ctx is cancelled
// before the publishing step nothing is published; once publishing has
// started it runs to its end.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	cfg = cfg.withDefaults()
	start := time.Now()
	res := Result{Date: cfg.Date, RunID: cfg.RunID, Input: cfg.Input, Prefix: cfg.Prefix}

	in, err := openInput(ctx, cfg)
	if err != nil {
		return res, err
	}
	w, err := openWriter(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer w.cat.Close()
	res.Published = w.cat.String() + " namespace " + w.cat.Namespace()

	if err := w.loadState(ctx, cfg); err != nil {
		return res, err
	}
	progress := w.progress()
	res.Full = cfg.Full || len(progress) == 0
	// A run with no state yet (none of the clean tables ever committed) is
	// a full run: the same tables, written as --full writes them, without
	// merging every row read into an empty state (which takes twice the
	// memory and time). It still commits only over the state it found.
	rebuild := cfg.Full || w.noState()

	// The state is read while the new objects are: what it holds does not
	// depend on them. A state that cannot be read fails the run at once.
	var scan *stateScan
	if !rebuild {
		var fail context.CancelCauseFunc
		ctx, fail = context.WithCancelCause(ctx)
		defer fail(nil)
		scan = startScan(ctx, w, fail)
		defer scan.stop()
	}
	t0 := time.Now()
	l := newListing(progress)
	st, err := readAll(ctx, cfg, in, l)
	if err != nil {
		return res, err
	}
	res.Timings.ReadMS = time.Since(t0).Milliseconds()
	res.Timings.ListMS = l.done.Milliseconds()
	counts := l.counts
	for _, t := range clean.Tables {
		if counts[t].Objects == 0 && w.state[t].progress == nil {
			res.EmptyTopics = append(res.EmptyTopics, landing.Topic(cfg.Prefix, t))
			cfg.Logger.Info("no objects for topic: its table is empty", "topic", landing.Topic(cfg.Prefix, t))
		}
	}
	for t, lines := range st.lines {
		c := counts[t]
		c.Lines = lines
		counts[t] = c
	}
	res.Counts = counts
	for _, t := range clean.Tables {
		ts := w.state[t]
		var gaps []Gap
		ts.newProgress, gaps = ts.progress.advance(landing.Topic(cfg.Prefix, t), l.read(t, st.objLines), cfg.CloseGaps)
		for _, g := range gaps {
			if cfg.CloseGaps {
				cfg.Logger.Warn("closing a gap: its offsets are taken as never to land", "gap", g.String())
			} else {
				cfg.Logger.Warn("offsets not landed yet: the objects after them are listed again by each run until they land", "gap", g.String())
			}
		}
		res.Gaps = append(res.Gaps, gaps...)
	}

	t0 = time.Now()
	rows := st.finish(cfg.Workers, l.keys)
	// The dedup's storage is garbage now that its rows are moved into the
	// sorted tables: collect it before the write begins, so that the write's
	// buffers reuse its memory. Otherwise the collector, which paces itself
	// on the heap found live at its last cycle (during the read), lets the
	// write's garbage pile up on top of it: the peak RSS of a million posts
	// falls from 1.24-1.45 GiB to 1.12-1.14 GiB, at no cost in time.
	runtime.GC()
	sortMS := time.Since(t0).Milliseconds()
	if err := context.Cause(ctx); err != nil {
		return res, err
	}

	// Merge into the state: the rows read win over the state's by the
	// de-duplication rule; the rows they replace are deleted, not rewritten.
	t0 = time.Now()
	var collisions [3]int64
	input := insights.Input{Pins: rows.pins.rows, Geos: rows.geos.rows, Users: rows.users.rows}
	if !rebuild {
		if err := scan.wait(); err != nil {
			return res, cmp.Or(context.Cause(ctx), err)
		}
		res.Timings.ScanMS = scan.took.Milliseconds()
		// The clean tables' buckets are written here, as they are merged;
		// writeAll writes none.
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error {
			return mergeState(gctx, w, clean.TablePin, scan.pins, rows.pins, pinOps, &input.Pins, &collisions[0])
		})
		g.Go(func() error {
			return mergeState(gctx, w, clean.TableGeo, scan.geos, rows.geos, geoOps, &input.Geos, &collisions[1])
		})
		g.Go(func() error {
			return mergeState(gctx, w, clean.TableUser, scan.users, rows.users, userOps, &input.Users, &collisions[2])
		})
		err := g.Wait()
		rows = cleanTables{} // the rows read are in the state now
		if err != nil {
			w.cleanup(ctx)
			return res, cmp.Or(context.Cause(ctx), err)
		}
	}
	for i, t := range clean.Tables {
		q := st.quality.Table(t)
		q.Duplicates += collisions[i]
	}
	st.quality.Pin.RowsWritten = int64(len(input.Pins))
	st.quality.Geo.RowsWritten = int64(len(input.Geos))
	st.quality.User.RowsWritten = int64(len(input.Users))
	res.Quality = st.quality
	res.Totals = clean.NewQuality()
	for _, t := range clean.Tables {
		*res.Totals.Table(t) = runningTotal(t, w.state[t].totals, *st.quality.Table(t))
	}
	mergeMS := time.Since(t0).Milliseconds()

	t0 = time.Now()
	var computeMS int64
	res.Insights, err = w.writeAll(ctx, rows, st.rejected, func() insights.Tables {
		t := time.Now()
		defer func() { computeMS = time.Since(t).Milliseconds() }()
		return insights.Compute(input)
	})
	if err != nil {
		w.cleanup(ctx)
		return res, cmp.Or(context.Cause(ctx), err) // a cancellation, not the upload it cut short
	}
	res.Timings.MergeMS = mergeMS
	res.Timings.ComputeMS = sortMS + computeMS
	res.Timings.WriteMS = time.Since(t0).Milliseconds()
	if err := context.Cause(ctx); err != nil {
		w.cleanup(ctx)
		return res, err
	}

	t0 = time.Now()
	// Publishing is not interrupted: a half-done publish would leave some
	// tables at the previous run until the next run.
	res.Files = w.files()
	res.Timings.TotalMS = time.Since(start).Milliseconds()
	pctx := context.WithoutCancel(ctx)
	if res.Snapshots, err = w.publish(pctx, res, rebuild, !cfg.Full); err != nil {
		return res, err
	}
	res.Timings.PublishMS = time.Since(t0).Milliseconds()
	res.Timings.TotalMS = time.Since(start).Milliseconds()
	if err := w.writeQuality(pctx, res); err != nil {
		// The tables are published (their summaries hold the counts), but a
		// report that is missing or from another run must not pass for
		// this run's: the run fails, and its retry publishes again.
		return res, fmt.Errorf("the tables are published, but writing quality.json beside them failed (re-run the date): %w", err)
	}
	cfg.Logger.Info("published", "catalog", res.Published, "files", len(res.Files), "run", cfg.RunID)
	if cfg.Report {
		// The report is a view of what is published: a failure to write
		// it does not fail the run.
		if res.Report, err = w.writeReport(pctx, res); err != nil {
			cfg.Logger.Warn("writing the run's report.html; the tables and quality.json are published", "err", err)
		}
	}
	if cfg.Maintain {
		w.maintain(ctx, cfg.Maintenance)
	}
	return res, nil
}
