package sink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pinpipe/pinpipe/internal/faultstore"
)

// The fakes of a partition worker's seams, for the protocol tests: a
// partition log, a group coordinator that fences commits by generation and
// a lease on a simulated clock (internal/faultstore is the store that can
// fail, hold or stop at its N-th request).

// simClock is a simulated clock: sleeping advances it.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func newSimClock() *simClock {
	return &simClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sleepUntil advances the clock to t (a simulated sleep).
func (c *simClock) sleepUntil(_ context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return nil
}

// fakeLog is one partition's records, appended by the test.
type fakeLog struct {
	mu      sync.Mutex
	recs    []record
	grew    chan struct{}
	trimmed int64 // the log-start offset
}

func newFakeLog() *fakeLog { return &fakeLog{grew: make(chan struct{})} }

func (l *fakeLog) append(values ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, v := range values {
		off := int64(len(l.recs))
		l.recs = append(l.recs, record{offset: off, time: t0.Add(time.Duration(off) * time.Second), value: []byte(v)})
	}
	close(l.grew)
	l.grew = make(chan struct{})
}

func (l *fakeLog) len() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.recs))
}

// fetcher returns a reader of the log.
func (l *fakeLog) fetcher() *logFetcher {
	return &logFetcher{log: l, next: -1, progress: make(chan struct{})}
}

type logFetcher struct {
	log      *fakeLog
	mu       sync.Mutex
	next     int64
	progress chan struct{} // closed and replaced by every fetch
}

// waitFetched waits until the records before offset n were fetched.
func (f *logFetcher) waitFetched(ctx context.Context, n int64) error {
	for {
		f.mu.Lock()
		next, ch := f.next, f.progress
		f.mu.Unlock()
		if next >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fetched up to %d, want %d: %w", next, n, ctx.Err())
		case <-ch:
		}
	}
}

func (f *logFetcher) logStart(context.Context) (int64, error) {
	f.log.mu.Lock()
	defer f.log.mu.Unlock()
	return f.log.trimmed, nil
}

func (f *logFetcher) fetch(ctx context.Context, from int64) (record, error) {
	f.mu.Lock()
	if f.next < 0 {
		f.next = from
		close(f.progress)
		f.progress = make(chan struct{})
	}
	next := f.next
	f.mu.Unlock()
	for {
		f.log.mu.Lock()
		if next < int64(len(f.log.recs)) {
			r := f.log.recs[next]
			r.hwm = int64(len(f.log.recs))
			f.log.mu.Unlock()
			f.mu.Lock()
			f.next = next + 1
			close(f.progress)
			f.progress = make(chan struct{})
			f.mu.Unlock()
			return r, nil
		}
		grew := f.log.grew
		f.log.mu.Unlock()
		select {
		case <-ctx.Done():
			return record{}, ctx.Err()
		case <-grew:
		}
	}
}

func (f *logFetcher) close() error { return nil }

// fakeGroup is a coordinator's view of one partition: its committed
// offset and its current generation. A commit of an older generation is
// refused, as the coordinator refuses it.
type fakeGroup struct {
	mu        sync.Mutex
	gen       int
	committed int64 // -1: none
	commits   int
	crashAt   int           // this commit and every later one fail (0: never)
	changed   chan struct{} // closed and replaced by every commit
	crashedCh chan struct{} // closed at the crash
}

var errFenced = errors.New("illegal generation")

func newFakeGroup() *fakeGroup {
	return &fakeGroup{committed: -1, changed: make(chan struct{}), crashedCh: make(chan struct{})}
}

// waitCommitted waits until the committed offset is at least n.
func (g *fakeGroup) waitCommitted(ctx context.Context, n int64) error {
	for {
		g.mu.Lock()
		have, ch := g.committed, g.changed
		g.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("committed %d, want %d: %w", have, n, ctx.Err())
		case <-ch:
		}
	}
}

// next starts a new generation and returns its committer and the offset it
// starts from.
func (g *fakeGroup) next() (*fakeCommitter, int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gen++
	return &fakeCommitter{g: g, gen: g.gen}, g.committed
}

func (g *fakeGroup) offset() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.committed
}

type fakeCommitter struct {
	g   *fakeGroup
	gen int
}

func (c *fakeCommitter) commit(next int64) error {
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	if c.gen != c.g.gen {
		return errFenced
	}
	c.g.commits++
	if c.g.crashAt > 0 && c.g.commits >= c.g.crashAt {
		if c.g.commits == c.g.crashAt {
			close(c.g.crashedCh)
		}
		return faultstore.ErrCrashed
	}
	if next < c.g.committed {
		return fmt.Errorf("commit %d goes back from %d", next, c.g.committed)
	}
	c.g.committed = next
	close(c.g.changed)
	c.g.changed = make(chan struct{})
	return nil
}

// fakeLease is a lease on the simulated clock: it runs for the rest of
// the test unless lost.
type fakeLease struct {
	clock *simClock
	mu    sync.Mutex
	lost  bool
}

func (l *fakeLease) deadline(ctx context.Context) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost {
		return time.Time{}, errLeaseLost
	}
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	return l.clock.Now().Add(8 * time.Second), nil
}

func (l *fakeLease) lose() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lost = true
}
