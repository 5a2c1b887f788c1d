package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// errReset is the outcome of a flush that does not follow the table's
// committed position: another writer committed a part of its records, or
// moved on in another cut. The shard's worker drops what it holds and reads
// again from the committed positions.
var errReset = errors.New("the table's committed position moved: reading again from it")

// flush is what a shard's flush adds to one table: its files, and the
// shard's position after it. It is committed only if the table's position of
// the shard is still base, the position the worker built it on.
type flush struct {
	stream, shard string
	base, next    Position
	files         []tables.File
	rows          int64               // rows in files
	quality       *clean.TableQuality // the counts of the flush's records (a stream_ table)
	done          chan outcome        // gets one outcome
}

// outcome is what became of a flush: the table's committed position of the
// shard afterwards, and errReset when the flush was dropped for it, or the
// context's error when the job stopped before it was decided.
type outcome struct {
	pos  Position
	mine bool // committed by this commit (not found committed by another writer)
	err  error
}

// committer commits the flushes of every shard for one table, batched: one
// catalog commit every CommitInterval at most, since commits to one table
// fail each other. A commit that fails (a conflict with another writer, the
// catalog unreachable) is decided again from the reloaded table: a flush
// that another writer already committed is dropped as done, one whose base
// is no longer the committed position is reset, the rest are retried.
type committer struct {
	j     *Job
	tbl   *tables.Table
	main  bool // a stream_ table (quality), not stream_quarantine
	in    chan *flush
	log   *slog.Logger
	stale bool // the table as loaded may be behind the catalog
}

func newCommitter(j *Job, tbl *tables.Table, main bool) *committer {
	return &committer{j: j, tbl: tbl, main: main, in: make(chan *flush, 1024),
		log: j.o.Logger.With("table", tbl.Name())}
}

// submit queues f; its outcome comes on f.done.
func (c *committer) submit(ctx context.Context, f *flush) error {
	// A queue with room takes f also when ctx has ended: the committers
	// outlive the workers by the shutdown, and a flush whose buffer is
	// already handed over must not be dropped by the select's random pick
	// (a stopping worker would leave the flushes of its other table behind).
	select {
	case c.in <- f:
		return nil
	default:
	}
	select {
	case c.in <- f:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// run commits until ctx ends, then what is still queued, until stopCtx ends.
// Commits start at most once per CommitInterval: a flush that comes when
// the last commit started longer ago than that is committed at once (with
// whatever else is queued), one that comes sooner waits for the interval's
// end, with the flushes that come meanwhile.
func (c *committer) run(ctx, stopCtx context.Context) {
	var pending []*flush
	var last time.Time // when the last commit started
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	defer timer.Stop()
	for {
		select {
		case f := <-c.in:
			pending = append(pending, f)
		case <-timer.C:
			armed = false
		case <-ctx.Done():
			c.finish(stopCtx, pending)
			return
		}
		if len(pending) == 0 {
			continue
		}
		if wait := c.j.o.CommitInterval - time.Since(last); wait > 0 {
			if !armed {
				timer.Reset(wait)
				armed = true
			}
			continue
		}
		for drained := false; !drained; { // the flushes that came together
			select {
			case f := <-c.in:
				pending = append(pending, f)
			default:
				drained = true
			}
		}
		last = time.Now()
		pending = c.commit(ctx, pending)
	}
}

// finish commits the pending flushes and those still queued, until none is
// left or stopCtx ends; then it fails the rest. The workers have returned:
// nothing more comes.
func (c *committer) finish(ctx context.Context, pending []*flush) {
	for {
		for drained := false; !drained; {
			select {
			case f := <-c.in:
				pending = append(pending, f)
			default:
				drained = true
			}
		}
		if len(pending) == 0 {
			return
		}
		pending = c.commit(ctx, pending)
		if ctx.Err() != nil {
			for _, f := range pending {
				f.done <- outcome{err: context.Cause(ctx)}
			}
			pending = nil
		}
	}
}

// commit commits pending, retrying until each is decided or ctx ends; it
// returns the flushes still undecided.
func (c *committer) commit(ctx context.Context, pending []*flush) []*flush {
	r := retry.New(retry.Policy{Initial: 50 * time.Millisecond, Max: 2 * time.Second, Notify: func(err error, attempts int, wait time.Duration) {
		c.log.Warn("committing, will retry", "err", err, "attempt", attempts, "wait", wait)
	}})
	for len(pending) > 0 {
		err := c.attempt(ctx, &pending)
		if err == nil {
			return pending
		}
		c.stale = true
		c.j.h.flushFailed("table "+c.tbl.Name(), err)
		if werr := r.Wait(ctx, err); werr != nil {
			return pending
		}
	}
	return pending
}

// attempt decides the flushes it can from the table as loaded (reloading it
// first when stale), and commits those that follow the committed positions
// in one snapshot with the new positions and quality.
func (c *committer) attempt(ctx context.Context, pending *[]*flush) error {
	if c.stale {
		if err := c.tbl.Refresh(ctx); err != nil {
			return err
		}
		c.stale = false
	}
	props := c.tbl.Properties()
	committed, err := positionsOf(props)
	if err != nil {
		return retry.Permanent(fmt.Errorf("table %s: %w", c.tbl.Name(), err))
	}
	quality, err := qualityOf(props)
	if err != nil {
		return retry.Permanent(fmt.Errorf("table %s: %w", c.tbl.Name(), err))
	}
	next := committed.clone()
	var take, keep []*flush
	var change tables.Change
	for _, f := range *pending {
		cur := next.get(f.stream, f.shard)
		switch {
		case cur.Reaches(f.next) && !f.next.IsZero():
			f.done <- outcome{pos: cur} // committed already (by another writer)
			c.j.o.Metrics.Dropped.WithLabelValues(c.tbl.Def().Name).Inc()
		case !cur.Equal(f.base):
			f.done <- outcome{pos: cur, err: errReset}
			c.j.o.Metrics.Resets.WithLabelValues(c.tbl.Def().Name).Inc()
		default:
			take = append(take, f)
			next.set(f.stream, f.shard, f.next)
			change.Add = append(change.Add, f.files...)
			if f.quality != nil {
				quality.Merge(*f.quality)
			}
		}
	}
	*pending = keep
	if len(take) == 0 {
		return nil
	}
	change.Properties = iceberg.Properties{PositionsKey: next.encode()}
	if c.main {
		change.Properties[QualityKey] = encodeQuality(quality)
	}
	t0 := time.Now()
	if err := c.tbl.Commit(ctx, change); err != nil {
		*pending = take // to be decided again from the reloaded table
		c.j.o.Metrics.CommitFailures.WithLabelValues(c.tbl.Def().Name).Inc()
		return err
	}
	c.j.o.Metrics.CommitSeconds.WithLabelValues(c.tbl.Def().Name).Observe(time.Since(t0).Seconds())
	c.j.h.flushOK("table " + c.tbl.Name())
	if c.main {
		c.j.qual.set(c.tbl.Def().Name, quality)
	}
	for _, f := range take {
		f.done <- outcome{pos: f.next, mine: true}
	}
	return nil
}
