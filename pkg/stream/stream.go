// Package stream is the stream job as a library: it reads Kinesis streams
// shard by shard (pkg/kinesisx), cleans every record with pkg/clean, and
// writes Parquet partitions and a quarantine dataset to an object store,
// exactly once across crashes and restarts (see PROTOCOL.md).
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
)

// Defaults of Options.
const (
	DefaultFlushRecords      = 10000
	DefaultFlushInterval     = 10 * time.Second
	DefaultDiscoverInterval  = 30 * time.Second
	DefaultShutdownTimeout   = 8 * time.Second
	DefaultFlushFailingAfter = 60 * time.Second
	DefaultReadStallAfter    = 60 * time.Second
	DefaultCheckpointPrefix  = "_checkpoints"
	QuarantinePrefix         = "quarantine"
)

// Options configures a Job.
type Options struct {
	// Streams maps each table to the stream it is read from. Required.
	Streams map[clean.Table]string
	// Output receives {table}/dt=YYYY-MM-DD/{shard}-{firstSeq}.parquet and
	// quarantine/{table}/dt=.../{shard}-{firstSeq}.parquet. Required.
	Output objstore.Bucket
	// Checkpoints receives {CheckpointPrefix}/{stream}/{shard}.json.
	// Default: Output.
	Checkpoints objstore.Bucket
	// CheckpointPrefix is the key prefix of checkpoints. Default:
	// "_checkpoints" when Checkpoints is nil (same bucket as the output),
	// "" otherwise.
	CheckpointPrefix string
	// FlushRecords flushes a shard after this many records. Default: 10000.
	FlushRecords int
	// FlushInterval flushes a shard this long after its oldest unflushed
	// record was read. Default: 10s.
	FlushInterval time.Duration
	// Start is where a shard with no checkpoint starts (see PROTOCOL.md for
	// child shards). Default: TRIM_HORIZON.
	Start kinesisx.Position
	// SourceColumns adds the shard, sequence number and arrival time columns.
	SourceColumns bool
	// DiscoverInterval is how often shards are listed again. Default: 30s.
	// A shard reaching its end triggers a listing at once.
	DiscoverInterval time.Duration
	// MinInterval between GetRecords calls on one shard. Default: 200ms (5/s).
	MinInterval time.Duration
	// ShutdownTimeout bounds the final flush after ctx is done. Default: 8s.
	ShutdownTimeout time.Duration
	// QualityKey is the key in Output of the running quality report
	// (QualityReport as JSON). Default: "_quality/stream.json".
	QualityKey string
	// QualityInterval is how often the quality report is stored when it
	// changed; it is also stored when Run returns. Default: 5s.
	QualityInterval time.Duration
	// FlushFailingAfter makes Health report an error when a shard's flush
	// (storing its files or checkpoint, retried on error) has been failing
	// for longer than this since its last success. Default: 60s.
	FlushFailingAfter time.Duration
	// ReadStallAfter makes Health report an error when shards are being
	// read and none had a successful GetRecords for longer than this.
	// Default: 60s.
	ReadStallAfter time.Duration
	// Now is the clock of Health. Default: time.Now.
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
	case o.Output == nil:
		return errors.New("stream: Output is required")
	case o.FlushRecords < 0:
		return fmt.Errorf("stream: FlushRecords is %d, want >= 0", o.FlushRecords)
	case o.FlushInterval < 0, o.DiscoverInterval < 0, o.MinInterval < 0, o.ShutdownTimeout < 0, o.QualityInterval < 0,
		o.FlushFailingAfter < 0, o.ReadStallAfter < 0:
		return errors.New("stream: negative interval")
	case o.Start.Type == kinesisx.AfterSequence:
		return errors.New("stream: Start must be TRIM_HORIZON, LATEST or AT_TIMESTAMP")
	case o.Start.Type == kinesisx.AtTimestamp && o.Start.Timestamp.IsZero():
		return errors.New("stream: AT_TIMESTAMP start without a timestamp")
	}
	return nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Checkpoints == nil {
		o.Checkpoints = o.Output
		if o.CheckpointPrefix == "" {
			o.CheckpointPrefix = DefaultCheckpointPrefix
		}
	}
	if o.FlushRecords == 0 {
		o.FlushRecords = DefaultFlushRecords
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
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
	if o.QualityKey == "" {
		o.QualityKey = DefaultQualityKey
	}
	if o.QualityInterval == 0 {
		o.QualityInterval = DefaultQualityInterval
	}
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
	RecordsIn  int64 // records consumed (replays count again)
	RowsOut    int64 // clean rows stored and checkpointed
	Rejected   int64 // rejects stored and checkpointed
	Blank      int64 // blank records skipped
	Files      int64 // data and quarantine files written
	Flushes    int64 // completed flushes
	ShardsDone int64 // shards read to their end by this process
}

type counters struct {
	in, out, rejected, blank, files, flushes, shardsDone atomic.Int64
}

// Job is the stream job. Create it with New and run it with Run.
type Job struct {
	api  kinesisx.API
	o    Options
	ck   checkpoints
	c    counters
	qual *qualityState
	h    *health
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
	return &Job{api: api, o: o, ck: checkpoints{b: o.Checkpoints, prefix: o.CheckpointPrefix},
		qual: newQualityState(o.Streams), h: newHealth(o.Now, o.FlushFailingAfter, o.ReadStallAfter)}, nil
}

// Health returns nil when the job is healthy, otherwise a one-line error
// naming the problem: Run has not loaded the checkpoints yet (or has
// returned), a shard's flush has been failing for longer than
// FlushFailingAfter, or shards are being read and none had a successful
// GetRecords for longer than ReadStallAfter. It is safe for concurrent use.
func (j *Job) Health() error { return j.h.check() }

// Stats returns a snapshot of the job's counters.
func (j *Job) Stats() Stats {
	return Stats{RecordsIn: j.c.in.Load(), RowsOut: j.c.out.Load(), Rejected: j.c.rejected.Load(),
		Blank: j.c.blank.Load(), Files: j.c.files.Load(), Flushes: j.c.flushes.Load(), ShardsDone: j.c.shardsDone.Load()}
}

// Check fails fast on bad configuration: a stream that does not exist,
// missing credentials, an output or checkpoint store that cannot be written.
func (j *Job) Check(ctx context.Context) error {
	for _, t := range clean.Tables {
		if s, ok := j.o.Streams[t]; ok {
			if err := kinesisx.CheckStream(ctx, j.api, s); err != nil {
				return err
			}
		}
	}
	if err := objstore.Check(ctx, j.o.Output); err != nil {
		return fmt.Errorf("output %s: %w", j.o.Output.URL(""), err)
	}
	if err := objstore.Check(ctx, j.o.Checkpoints); err != nil {
		return fmt.Errorf("checkpoints %s: %w", j.o.Checkpoints.URL(""), err)
	}
	return nil
}

// Run reads every stream until ctx is done, then flushes and checkpoints
// what it has read (within ShutdownTimeout), stores the quality report and
// returns nil. Transient errors are logged and retried; Run returns an
// error only when it cannot start (checkpoints unreadable).
func (j *Job) Run(ctx context.Context) error {
	defer j.h.setState(healthStopped)
	all := map[clean.Table]map[string]Checkpoint{}
	for t, s := range j.o.Streams {
		cps, err := j.ck.load(ctx, s)
		if err != nil {
			return err
		}
		all[t] = cps
		for id, cp := range cps {
			j.qual.set(s, id, cp.Quality)
		}
	}
	j.h.setState(healthRunning)
	stopQuality := make(chan struct{})
	var qwg sync.WaitGroup
	qwg.Go(func() { j.qualityLoop(ctx, stopQuality) })

	var wg sync.WaitGroup
	for _, t := range clean.Tables {
		if s, ok := j.o.Streams[t]; ok {
			wg.Go(func() { j.runStream(ctx, t, s, all[t]) })
		}
	}
	wg.Wait()
	close(stopQuality)
	qwg.Wait()
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), qualityFinalTimeout)
	defer cancel()
	if err := j.writeQuality(qctx); err != nil {
		j.o.Logger.Warn("writing the final quality report; the next run writes it", "err", err)
	}
	return nil
}

type shardDone struct {
	id     string
	closed bool
	cp     Checkpoint // the worker's last checkpoint (stored or intended)
}

// runStream is the coordinator of one stream: it lists shards, starts a
// worker for each shard that is ready (parents finished), and restarts
// listing when a shard ends. It returns when ctx is done and every worker
// has stopped; errors are logged and retried, never returned.
func (j *Job) runStream(ctx context.Context, table clean.Table, stream string, cps map[string]Checkpoint) {
	log := j.o.Logger.With("stream", stream)
	m := j.o.Metrics
	finished := map[string]bool{}
	for id, cp := range cps {
		if cp.Closed {
			finished[id] = true
		}
	}
	running := map[string]bool{}
	lineage := map[string]bool{} // shards read or checkpointed: their children start at TRIM_HORIZON
	for id := range cps {
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
			cp, has := cps[s.ID]
			if !has {
				cp = Checkpoint{Stream: stream, Shard: s.ID}
			}
			start := j.o.Start
			childOfOurs := slices.ContainsFunc(s.Parents, func(p string) bool { return lineage[p] })
			if !has && childOfOurs && start.Type == kinesisx.Latest {
				start = kinesisx.Position{Type: kinesisx.TrimHorizon}
			}
			if !has && !childOfOurs && s.Closed && start.Type == kinesisx.Latest {
				// Nothing comes after LATEST in a closed shard.
				cp.Closed = true
				if err := j.ck.put(ctx, cp); err == nil {
					finished[s.ID] = true
					cps[s.ID] = cp
					j.qual.set(stream, s.ID, nil)
				}
				continue
			}
			lineage[s.ID] = true
			running[s.ID] = true
			m.ShardsReading.WithLabelValues(stream).Inc()
			w := &worker{j: j, table: table, stream: stream, shard: s.ID, cp: cp, start: start,
				log: log.With("shard", s.ID)}
			log.Info("reading shard", "shard", s.ID, "from", w.startPosition().String())
			wg.Go(func() {
				closed := w.run(ctx)
				done <- shardDone{id: w.shard, closed: closed, cp: w.cp}
			})
		}
		select {
		case <-ctx.Done():
			for len(running) > 0 {
				d := <-done
				delete(running, d.id)
				cps[d.id] = d.cp
				m.ShardsReading.WithLabelValues(stream).Dec()
			}
			return
		case d := <-done:
			delete(running, d.id)
			m.ShardsReading.WithLabelValues(stream).Dec()
			cps[d.id] = d.cp
			if d.closed {
				finished[d.id] = true
				m.ShardsFinished.WithLabelValues(stream).Inc()
				j.c.shardsDone.Add(1)
				log.Info("shard finished", "shard", d.id)
			}
			// Otherwise the worker gave up after a permanent error and a pause;
			// the listing below starts it again from its checkpoint.
		case <-ticker.C:
		}
	}
}
