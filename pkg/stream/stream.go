// Package stream is the stream job as a library: it reads Kinesis streams
// shard by shard (pkg/kinesisx), cleans every record with pkg/clean, and
// commits the rows to the Iceberg tables stream_pin, stream_geo and
// stream_user and the rejects to stream_quarantine (tables.md), each commit
// with the shard positions it covers, so that every accepted record is in
// its table exactly once across crashes, restarts and two instances at once
// (PROTOCOL.md).
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// Defaults of Options.
const (
	DefaultFlushRecords      = 10000
	DefaultFlushInterval     = 10 * time.Second
	DefaultCommitInterval    = time.Second
	DefaultIdleCommit        = time.Minute
	DefaultDiscoverInterval  = 30 * time.Second
	DefaultShutdownTimeout   = 8 * time.Second
	DefaultFlushFailingAfter = 60 * time.Second
	DefaultReadStallAfter    = 60 * time.Second
)

// Options configures a Job.
type Options struct {
	// Streams maps each table to the stream it is read from. Required.
	Streams map[clean.Table]string
	// Tables is the catalog of the output tables. Required.
	Tables *tables.Catalog
	// FlushRecords flushes a shard after this many records (user records of
	// KPL-aggregated ones; a flush is cut between Kinesis records, so it may
	// hold a few more). Default: 10000.
	FlushRecords int
	// FlushInterval flushes a shard this long after its oldest unflushed
	// record was read. Default: 10s.
	FlushInterval time.Duration
	// CommitInterval is the least time between the starts of two commits
	// of a table (each commits the flushes of all shards that came, in one
	// snapshot); a flush that comes later than that after the last commit
	// is committed at once. Default: 1s.
	CommitInterval time.Duration
	// IdleCommit: a flush that gives a table no file is committed to it only
	// when the table had no flush of the shard for this long (its position
	// may lag so much; a restart reads those records again). Default: 1m.
	IdleCommit time.Duration
	// Start is where a shard with no committed position starts (see
	// PROTOCOL.md for child shards). Default: TRIM_HORIZON.
	Start kinesisx.Position
	// SourceColumns adds the shard, sequence number and arrival time columns.
	SourceColumns bool
	// DiscoverInterval is how often shards are listed again. Default: 30s.
	// A shard reaching its end triggers a listing at once.
	DiscoverInterval time.Duration
	// MinInterval between GetRecords calls on one shard. Default: 200ms (5/s).
	MinInterval time.Duration
	// ShutdownTimeout bounds the final flushes and commits after ctx is
	// done. Default: 8s.
	ShutdownTimeout time.Duration
	// Maintenance of the tables, run every Maintenance.Interval while the
	// job runs. Default: see tables.Maintenance.
	Maintenance tables.Maintenance
	// FlushFailingAfter makes Health report an error when a shard's flush
	// (writing its files, or committing them) has been failing for longer
	// than this since its last success. Default: 60s.
	FlushFailingAfter time.Duration
	// ReadStallAfter makes Health report an error when shards are being
	// read and none had a successful GetRecords for longer than this.
	// Default: 60s.
	ReadStallAfter time.Duration
	// Now is the clock of Health and of a LATEST start. Default: time.Now.
	Now func() time.Time
	// Parquet options of the written files.
	Parquet parquetio.Options
	// Logger. Default: nil, silent.
	Logger *slog.Logger
	// Metrics. Default: a private, unregistered set.
	Metrics *Metrics
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	if len(o.Streams) == 0 {
		return errors.New("stream: no streams")
	}
	seen := map[string]bool{}
	for t, s := range o.Streams {
		if !slices.Contains(clean.Tables[:], t) {
			return fmt.Errorf("stream: unknown table %q (want pin, geo or user)", t)
		}
		if s == "" {
			return fmt.Errorf("stream: empty stream name for table %s", t)
		}
		if seen[s] {
			return fmt.Errorf("stream: stream %s given for two tables", s)
		}
		seen[s] = true
	}
	switch {
	case o.Tables == nil:
		return errors.New("stream: Tables is required")
	case o.FlushRecords < 0:
		return fmt.Errorf("stream: FlushRecords is %d, want >= 0", o.FlushRecords)
	case o.FlushInterval < 0, o.CommitInterval < 0, o.IdleCommit < 0, o.DiscoverInterval < 0, o.MinInterval < 0,
		o.ShutdownTimeout < 0, o.FlushFailingAfter < 0, o.ReadStallAfter < 0:
		return errors.New("stream: negative interval")
	case o.Start.Type == kinesisx.AfterSequence:
		return errors.New("stream: Start must be TRIM_HORIZON, LATEST or AT_TIMESTAMP")
	case o.Start.Type == kinesisx.AtTimestamp && o.Start.Timestamp.IsZero():
		return errors.New("stream: AT_TIMESTAMP start without a timestamp")
	}
	return o.Maintenance.Validate()
}

func (o Options) withDefaults() (Options, error) {
	if o.FlushRecords == 0 {
		o.FlushRecords = DefaultFlushRecords
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.CommitInterval == 0 {
		o.CommitInterval = DefaultCommitInterval
	}
	if o.IdleCommit == 0 {
		o.IdleCommit = DefaultIdleCommit
	}
	if o.DiscoverInterval == 0 {
		o.DiscoverInterval = DefaultDiscoverInterval
	}
	if o.MinInterval == 0 {
		o.MinInterval = 200 * time.Millisecond
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.FlushFailingAfter == 0 {
		o.FlushFailingAfter = DefaultFlushFailingAfter
	}
	if o.ReadStallAfter == 0 {
		o.ReadStallAfter = DefaultReadStallAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Maintenance = o.Maintenance.WithDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		m, err := NewMetrics(nil)
		if err != nil {
			return o, err
		}
		o.Metrics = m
	}
	return o, nil
}

// Stats is a snapshot of a Job's counters.
type Stats struct {
	RecordsIn  int64 // records consumed: user records of KPL-aggregated ones (replays count again)
	RowsOut    int64 // clean rows committed by this process
	Rejected   int64 // rejects committed by this process
	Blank      int64 // blank records skipped
	Files      int64 // data and quarantine files written
	Flushes    int64 // flushes decided (committed, found committed, or reset)
	ShardsDone int64 // shards read to their end by this process
}

type counters struct {
	in, out, rejected, blank, flushes, shardsDone atomic.Int64
}

// Job is the stream job. Create it with New and run it with Run.
type Job struct {
	api  kinesisx.API
	o    Options
	c    counters
	qual *qualityState
	h    *health
	// flushes are the last decided flushes, for Status.
	flushes flushLog

	// The tables and their committers, set by Run.
	mu         sync.Mutex
	main       map[clean.Table]*committer
	quarantine *committer
}

// New returns a Job reading with api. It does no I/O.
func New(api kinesisx.API, o Options) (*Job, error) {
	if api == nil {
		return nil, errors.New("stream: nil Kinesis API")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Job{api: api, o: o, qual: newQualityState(o.Streams), h: newHealth(o.Now, o.FlushFailingAfter, o.ReadStallAfter)}, nil
}

// Health returns nil when the job is healthy, otherwise a one-line error
// naming the problem: Run has not loaded the tables yet (or has returned),
// a shard's flush or a table's commit has been failing for longer than
// FlushFailingAfter, or shards are being read and none had a successful
// GetRecords for longer than ReadStallAfter. It is safe for concurrent use.
func (j *Job) Health() error { return j.h.check() }

// Stats returns a snapshot of the job's counters.
func (j *Job) Stats() Stats {
	return Stats{RecordsIn: j.c.in.Load(), RowsOut: j.c.out.Load(), Rejected: j.c.rejected.Load(),
		Blank: j.c.blank.Load(), Files: int64(j.o.Metrics.files()), Flushes: j.c.flushes.Load(), ShardsDone: j.c.shardsDone.Load()}
}

// Defs are the definitions of the job's tables: one per stream, then the
// quarantine.
func (j *Job) Defs() []tables.Def {
	var defs []tables.Def
	for _, t := range clean.Tables {
		if _, ok := j.o.Streams[t]; ok {
			defs = append(defs, tables.StreamDef(t, j.o.SourceColumns))
		}
	}
	return append(defs, tables.StreamQuarantineDef())
}

// Check fails fast on bad configuration: a stream that does not exist,
// missing credentials, a warehouse that cannot be written.
func (j *Job) Check(ctx context.Context) error {
	for _, t := range clean.Tables {
		if s, ok := j.o.Streams[t]; ok {
			if err := kinesisx.CheckStream(ctx, j.api, s); err != nil {
				return err
			}
		}
	}
	if b := j.o.Tables.Warehouse(); b != nil {
		if err := objstore.Check(ctx, b); err != nil {
			return fmt.Errorf("warehouse %s: %w", b.URL(""), err)
		}
	}
	return nil
}

// committers returns the committers of table t's records: its stream
// table's and the quarantine's.
func (j *Job) committers(t clean.Table) [2]*committer {
	j.mu.Lock()
	defer j.mu.Unlock()
	return [2]*committer{j.main[t], j.quarantine}
}

// Run creates the tables that are missing, reads every stream until ctx is
// done, then flushes and commits what it has read (within
// ShutdownTimeout) and returns nil. Transient errors are logged and
// retried; Run returns an error only when it cannot start (the catalog or a
// table cannot be loaded).
func (j *Job) Run(ctx context.Context) error {
	defer j.h.setState(healthStopped)
	j.main = map[clean.Table]*committer{}
	var all []*tables.Table
	for _, def := range j.Defs() {
		tbl, err := j.o.Tables.Ensure(ctx, def)
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped while starting
			}
			return err
		}
		all = append(all, tbl)
		if def.Name == tables.StreamQuarantine {
			j.quarantine = newCommitter(j, tbl, false)
			continue
		}
		t := clean.Table(def.Name[len("stream_"):])
		j.main[t] = newCommitter(j, tbl, true)
		q, err := qualityOf(tbl.Properties())
		if err != nil {
			return fmt.Errorf("table %s: %w", tbl.Name(), err)
		}
		j.qual.set(def.Name, q)
	}
	positions := map[*committer]Positions{}
	for _, c := range append(slices.Collect(mapValues(j.main)), j.quarantine) {
		ps, err := positionsOf(c.tbl.Properties())
		if err != nil {
			return fmt.Errorf("table %s: %w", c.tbl.Name(), err)
		}
		positions[c] = ps
	}
	j.h.setState(healthRunning)

	// The committers outlive the workers by the shutdown: they commit the
	// final flushes, until ShutdownTimeout after ctx ends.
	stopCtx, cancelStop := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelStop()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(j.o.ShutdownTimeout, cancelStop) })()
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var cwg sync.WaitGroup
	for _, c := range positionsKeys(positions) {
		cwg.Go(func() { c.run(workCtx, stopCtx) })
	}
	var mwg sync.WaitGroup
	mwg.Go(func() { j.maintainLoop(ctx, all) })

	var wg sync.WaitGroup
	for _, t := range clean.Tables {
		s, ok := j.o.Streams[t]
		if !ok {
			continue
		}
		known := map[string][2]Position{}
		for shard, p := range positions[j.main[t]][s] {
			k := known[shard]
			k[mainTable] = p
			known[shard] = k
		}
		for shard, p := range positions[j.quarantine][s] {
			k := known[shard]
			k[quarantineTable] = p
			known[shard] = k
		}
		wg.Go(func() { j.runStream(ctx, t, s, known) })
	}
	wg.Wait()
	// The workers have flushed and waited for their commits; the
	// committers finish what is left, within the shutdown timeout.
	stopWork()
	cwg.Wait()
	mwg.Wait()
	return nil
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func positionsKeys(m map[*committer]Positions) []*committer {
	out := make([]*committer, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	return out
}

type shardDone struct {
	id     string
	closed bool
	pos    [2]Position // the worker's last known committed positions
}

// runStream is the coordinator of one stream: it lists shards, starts a
// worker for each shard that is ready (parents finished), and restarts
// listing when a shard ends.
func (j *Job) runStream(ctx context.Context, table clean.Table, stream string, known map[string][2]Position) {
	log := j.o.Logger.With("stream", stream)
	m := j.o.Metrics
	finished := map[string]bool{}
	for id, p := range known {
		if p[mainTable].Closed && p[quarantineTable].Closed {
			finished[id] = true
		}
	}
	running := map[string]bool{}
	lineage := map[string]bool{} // shards read or committed: their children start at TRIM_HORIZON
	for id := range known {
		lineage[id] = true
	}
	done := make(chan shardDone)
	var wg sync.WaitGroup
	defer wg.Wait()

	ticker := time.NewTicker(j.o.DiscoverInterval)
	defer ticker.Stop()
	for {
		shards, err := kinesisx.ListShards(ctx, j.api, stream)
		if err != nil && ctx.Err() == nil {
			m.Errors.WithLabelValues(stream).Inc()
			log.Warn("listing shards, will retry", "err", err)
		}
		for _, s := range kinesisx.Ready(shards, func(id string) bool { return finished[id] }) {
			if running[s.ID] || ctx.Err() != nil {
				continue
			}
			pos, has := known[s.ID]
			start := j.o.Start
			childOfOurs := slices.ContainsFunc(s.Parents, func(p string) bool { return lineage[p] })
			if !has && childOfOurs && start.Type == kinesisx.Latest {
				start = kinesisx.Position{Type: kinesisx.TrimHorizon}
			}
			lineage[s.ID] = true
			running[s.ID] = true
			m.ShardsReading.WithLabelValues(stream).Inc()
			w := &worker{j: j, table: table, stream: stream, shard: s.ID, pos: pos, start: start, log: log.With("shard", s.ID)}
			log.Info("reading shard", "shard", s.ID, "from", Earlier(pos[mainTable], pos[quarantineTable]).start(start).String())
			wg.Go(func() {
				closed := w.run(ctx)
				done <- shardDone{id: w.shard, closed: closed, pos: w.pos}
			})
		}
		select {
		case <-ctx.Done():
			for len(running) > 0 {
				d := <-done
				delete(running, d.id)
				known[d.id] = d.pos
				m.ShardsReading.WithLabelValues(stream).Dec()
			}
			return
		case d := <-done:
			delete(running, d.id)
			m.ShardsReading.WithLabelValues(stream).Dec()
			known[d.id] = d.pos
			if d.closed {
				finished[d.id] = true
				m.ShardsFinished.WithLabelValues(stream).Inc()
				j.c.shardsDone.Add(1)
				log.Info("shard finished", "shard", d.id)
				continue // list again at once: its children are ready
			}
			// Otherwise the worker was reset or gave up after an error; the
			// loop starts it again from its committed positions.
			continue
		case <-ticker.C:
		}
	}
}

// maintainLoop runs the tables' maintenance every Maintenance.Interval
// until ctx ends.
func (j *Job) maintainLoop(ctx context.Context, all []*tables.Table) {
	if j.o.Maintenance.Interval < 0 {
		return
	}
	t := time.NewTicker(j.o.Maintenance.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, tbl := range all {
			res, err := tbl.Maintain(ctx, j.o.Maintenance)
			if err != nil {
				if ctx.Err() == nil {
					j.o.Logger.Warn("maintaining a table, will try again", "table", tbl.Name(), "err", err)
				}
				continue
			}
			j.o.Logger.Info("maintained", "table", tbl.Name(), "expired_snapshots", res.ExpiredSnapshots, "removed_files", res.RemovedFiles)
		}
	}
}
