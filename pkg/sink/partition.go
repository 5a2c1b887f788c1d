package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// The partition worker: lands one partition for the life of one generation
// (PROTOCOL.md). Its three seams are the records (a kafka.Reader), the
// offset commits (the generation) and the lease (membership); unit tests
// give it fakes of each.

// record is one record of a partition.
type record struct {
	offset int64
	time   time.Time
	value  []byte
	hwm    int64 // the partition's high watermark when it was fetched
}

// fetcher reads one partition's records in offset order.
type fetcher interface {
	// logStart returns the partition's first offset still in the log.
	logStart(ctx context.Context) (int64, error)
	// fetch returns the next record, from the offset of the first call's
	// start on.
	fetch(ctx context.Context, from int64) (record, error)
	close() error
}

// committer commits the next offset of one partition in this member's
// generation; the coordinator refuses it once the generation is over.
type committer interface {
	commit(next int64) error
}

// leaser gives the deadline of this member's changes to the partition's
// objects (membership.deadline).
type leaser interface {
	deadline(ctx context.Context) (time.Time, error)
}

// partitionIO are a worker's seams.
type partitionIO struct {
	fetch  fetcher
	commit committer
	lease  leaser
}

// lander lands one partition for one generation.
type lander struct {
	s         *Sink
	topic     string
	partition int32
	io        partitionIO
	log       *slog.Logger

	// settle is when every request this worker sent and may not have heard
	// back from has either taken effect or can no longer (its deadline).
	settleMu sync.Mutex
	settle   time.Time
}

func (l *lander) unsettled(deadline time.Time) {
	l.settleMu.Lock()
	defer l.settleMu.Unlock()
	if deadline.After(l.settle) {
		l.settle = deadline
	}
}

// waitSettled returns once no request of this worker can still change the
// store: the partition may then go to another member.
func (l *lander) waitSettled() {
	l.settleMu.Lock()
	until := l.settle
	l.settleMu.Unlock()
	if until.IsZero() {
		return
	}
	l.log.Info("waiting until requests whose answer was lost can no longer land", "until", until)
	_ = l.s.sleepUntil(context.Background(), until)
}

// run lands the partition from committed (the committed offset, or < 0
// when the group has none) until the generation or the run ends.
//
// Objects are stored concurrently (up to Config.InFlight) and their offsets
// committed in order, so the committed offset is always the end of a stored
// object. When the generation ends (a rebalance) the objects not yet stored
// are abandoned; when runCtx ends (shutdown) the partial object is stored
// too and everything stored is committed, within the lease and
// Config.ShutdownTimeout. Either way run returns only when none of its
// requests can still land.
func (l *lander) run(runCtx, genCtx context.Context, committed int64) {
	defer l.waitSettled()
	fetchCtx, cancelFetch := context.WithCancel(runCtx)
	defer cancelFetch()
	defer context.AfterFunc(genCtx, cancelFetch)()
	// Stores outlive a shutdown (bounded by ShutdownTimeout) but not a
	// rebalance. At shutdown the generation ends too (kafka-go ends it when
	// the first worker returns), which must not cancel the final flushes.
	storeCtx, cancelStore := context.WithCancel(context.WithoutCancel(runCtx))
	defer cancelStore()
	defer context.AfterFunc(genCtx, func() {
		if runCtx.Err() == nil {
			cancelStore()
		}
	})()
	defer context.AfterFunc(runCtx, func() { time.AfterFunc(l.s.cfg.ShutdownTimeout, cancelStore) })()

	start, err := l.resolveStart(storeCtx, committed)
	if err != nil {
		l.log.Error("resolving the start offset", "err", err)
		return
	}
	if err := l.removeUncommitted(storeCtx, start); err != nil {
		l.log.Error("removing uncommitted objects", "err", err)
		return
	}
	l.s.cfg.Metrics.landing(l.topic, 1)
	defer l.s.cfg.Metrics.landing(l.topic, -1)
	p := l.newPipeline(storeCtx)
	defer p.close()
	b := l.s.newBatch()
	next := start
	for {
		// With a wall-clock schedule, a fetch waits only until the open
		// object is due; the object is then cut with what it holds.
		ctx, cancel := fetchCtx, context.CancelFunc(func() {})
		if b.n > 0 && !b.due.IsZero() {
			ctx, cancel = context.WithDeadline(fetchCtx, b.due)
		}
		rec, err := l.io.fetch.fetch(ctx, next)
		cancel()
		if err != nil {
			if fetchCtx.Err() != nil {
				break
			}
			if ctx.Err() != nil {
				p.submit(b)
				b = l.s.newBatch()
				continue
			}
			l.log.Warn("fetching", "err", err)
			if l.s.sleepUntil(fetchCtx, l.s.cfg.Now().Add(time.Second)) != nil {
				break
			}
			continue
		}
		next = rec.offset + 1
		var now time.Time // read only for a wall-clock schedule: this runs per record
		if l.s.cfg.RotateSchedule > 0 {
			now = l.s.cfg.Now()
		}
		if b.full(rec.time) || b.overdue(now) {
			p.submit(b)
			b = l.s.newBatch()
		}
		b.add(rec.offset, rec.time, rec.value, now)
		l.s.cfg.Metrics.observe(l.topic, int(l.partition), rec.hwm-rec.offset-1)
		if b.n >= b.flushSize {
			p.submit(b)
			b = l.s.newBatch()
		}
		if p.failed() {
			break
		}
	}
	if runCtx.Err() != nil && b.n > 0 && !p.failed() {
		l.log.Info("storing the partial object on shutdown", "start", b.start, "records", b.n)
		p.submit(b)
	}
}

// resolveStart returns the offset landing starts at: the committed offset,
// or, when the group has none (a first owner that died before its first
// commit, expired group offsets), the partition's log-start offset, so that
// the clean-up below also covers what a previous owner stored without
// committing.
func (l *lander) resolveStart(ctx context.Context, committed int64) (int64, error) {
	if committed >= 0 {
		return committed, nil
	}
	var start int64
	err := retry.Do(ctx, l.s.retryPolicy("reading the log-start offset", l.log), func(ctx context.Context) error {
		var err error
		start, err = l.io.fetch.logStart(ctx)
		return err
	})
	return start, err
}

// removeUncommitted deletes the objects of the partition that start at or
// after start: a previous owner stored them but never committed them (they
// may be cut differently: another flush size, a shutdown, a crash), so they
// could overlap the objects this owner is about to write. It lists from
// start's key on, not the whole partition. Each delete is conditional on
// the version listed and carries the lease as its deadline.
func (l *lander) removeUncommitted(ctx context.Context, start int64) error {
	prefix := l.s.cfg.Prefix
	if prefix != "" {
		prefix = strings.TrimSuffix(prefix, "/") + "/"
	}
	return retry.Do(ctx, l.s.retryPolicy("removing uncommitted objects", l.log), func(ctx context.Context) error {
		dir := prefix + landing.PartitionDir(l.topic, l.partition)
		after, ok := landing.StartAfter(l.topic, l.partition, start)
		if ok {
			after = prefix + after
		} else {
			after = ""
		}
		objs, err := objstore.ListAfter(ctx, l.s.bucket, dir, after)
		if err != nil {
			return err
		}
		for _, o := range objs {
			k, err := landing.ParseKey(strings.TrimPrefix(o.Key, prefix))
			if err != nil || k.Topic != l.topic || k.Partition != l.partition || k.Start < start {
				continue // not an object of this partition's layout, or committed
			}
			deadline, err := l.io.lease.deadline(ctx)
			if err != nil {
				return retry.Permanent(err)
			}
			err = l.s.bucket.DeleteIf(ctx, o.Key, objstore.Cond{IfMatch: o.ETag, Deadline: deadline})
			switch {
			case err == nil:
				l.s.cfg.Metrics.removed(l.topic)
				l.log.Info("removed an uncommitted object", "key", o.Key)
			case errors.Is(err, objstore.ErrPrecondition), errors.Is(err, objstore.ErrExpired):
				return err // changed since listed, or the lease ran short: list again
			default:
				l.unsettled(deadline)
				return err
			}
		}
		return nil
	})
}

// pipeline stores a partition's objects concurrently and commits their
// offsets in order.
type pipeline struct {
	l     *lander
	ctx   context.Context
	queue chan *upload
	done  chan struct{}
	err   atomic.Bool
}

type upload struct {
	b      *batch
	key    string
	cut    time.Time // when the batch was cut: the flush latency runs from here to its commit
	size   int
	stored chan error
}

func (l *lander) newPipeline(ctx context.Context) *pipeline {
	p := &pipeline{l: l, ctx: ctx, queue: make(chan *upload, l.s.cfg.InFlight), done: make(chan struct{})}
	go p.commitLoop()
	return p
}

// submit starts storing b; it blocks while InFlight objects are pending.
func (p *pipeline) submit(b *batch) {
	key := landing.Key{Topic: p.l.topic, Partition: p.l.partition, Start: b.start, Gzip: p.l.s.cfg.Gzip}.String()
	if p.l.s.cfg.Prefix != "" {
		key = objstore.Join(p.l.s.cfg.Prefix, key)
	}
	u := &upload{b: b, key: key, cut: time.Now(), stored: make(chan error, 1)}
	select {
	case p.queue <- u:
	case <-p.ctx.Done():
		return
	}
	go func() { u.stored <- p.store(u) }()
}

func (p *pipeline) failed() bool { return p.err.Load() }

// close waits until every submitted object is stored and committed, or
// abandoned.
func (p *pipeline) close() {
	close(p.queue)
	<-p.done
}

// store stores u under its key, retrying until it is stored, the lease is
// lost or the pipeline's context ends.
func (p *pipeline) store(u *upload) error {
	s := p.l.s
	body, err := u.b.body(s.cfg.Gzip)
	if err != nil {
		return fmt.Errorf("compressing %s: %w", u.key, err)
	}
	u.size = len(body)
	return retry.Do(p.ctx, s.retryPolicy("storing "+u.key, p.l.log), func(context.Context) error {
		deadline, err := p.l.io.lease.deadline(p.ctx)
		if err != nil {
			return retry.Permanent(err)
		}
		err = p.put(u.key, body, deadline)
		switch {
		case err == nil:
			s.health.stored(nil)
		case errors.Is(err, objstore.ErrExpired):
			// The lease ran short while the request was on its way: it did
			// not land. Retry with the renewed lease.
		default:
			p.l.unsettled(deadline)
			if p.ctx.Err() == nil {
				s.health.stored(err)
			}
		}
		return err
	})
}

// maxReplace bounds the rounds of put against an object that keeps changing.
const maxReplace = 5

// put creates key with body. An object already there is one this owner
// stored by a request whose answer was lost, or one a previous owner left
// uncommitted (everything at or after the committed offset is uncommitted):
// when it holds exactly body it is kept, else it is replaced by its exact
// version (If-Match), so a concurrent change is never overwritten.
func (p *pipeline) put(key string, body []byte, deadline time.Time) error {
	b := p.l.s.bucket
	ctx := p.ctx
	for range maxReplace {
		_, err := b.PutIf(ctx, key, bytes.NewReader(body), objstore.Cond{IfAbsent: true, Deadline: deadline})
		if !errors.Is(err, objstore.ErrPrecondition) {
			return err
		}
		rc, etag, err := b.GetVersion(ctx, key)
		if errors.Is(err, objstore.ErrNotFound) {
			continue // removed meanwhile: create it again
		}
		if err != nil {
			return err
		}
		have, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if bytes.Equal(have, body) {
			return nil
		}
		p.l.s.cfg.Metrics.replaced(p.l.topic)
		_, err = b.PutIf(ctx, key, bytes.NewReader(body), objstore.Cond{IfMatch: etag, Deadline: deadline})
		if !errors.Is(err, objstore.ErrPrecondition) {
			return err
		}
	}
	return fmt.Errorf("storing %s: the object changed %d times while being stored", b.URL(key), maxReplace)
}

// commitLoop waits for the objects in order and commits the offset after
// the last stored one: at once when nothing else is pending, else at most
// every 100ms, so a busy partition does not pay a commit per object. The
// records, objects and bytes of an object are counted, and its flush latency
// observed, when its offset is committed.
func (p *pipeline) commitLoop() {
	defer close(p.done)
	var (
		pending    []*upload // stored, not yet committed, in order
		lastCommit time.Time
		abandoned  bool
	)
	commit := func() {
		if len(pending) == 0 || abandoned {
			return
		}
		last := pending[len(pending)-1]
		if err := p.l.io.commit.commit(last.b.next); err != nil {
			p.l.log.Info("not committed; the next owner rewrites from the committed offset", "offset", last.b.next, "err", err)
			abandoned = true
			p.err.Store(true)
			return
		}
		lastCommit = time.Now()
		for _, u := range pending {
			p.l.s.cfg.Metrics.landed(p.l.topic, u.b.n, u.b.invalid, u.size, lastCommit.Sub(u.cut))
		}
		pending = pending[:0]
	}
	for u := range p.queue {
		if abandoned {
			<-u.stored
			continue
		}
		if err := <-u.stored; err != nil {
			if p.ctx.Err() == nil {
				p.l.log.Warn("not stored; abandoning the rest of this generation's objects", "key", u.key, "err", err)
			}
			commit() // the objects stored before it
			abandoned = true
			p.err.Store(true)
			continue
		}
		pending = append(pending, u)
		if len(p.queue) == 0 || time.Since(lastCommit) > 100*time.Millisecond {
			commit()
		}
	}
	commit()
}
