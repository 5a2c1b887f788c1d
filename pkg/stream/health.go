package stream

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// health tracks what Job.Health reports: whether Run has started, the
// first failure of each shard's flush since its last success, and the last
// successful GetRecords of each shard being read.
type health struct {
	now            func() time.Time
	flushThreshold time.Duration
	readThreshold  time.Duration
	mu             sync.Mutex
	state          int                  // healthStarting, healthRunning or healthStopped
	flushFailing   map[string]failure   // by stream/shard
	lastRead       map[string]time.Time // by stream/shard, shards being read
}

const (
	healthStarting = iota
	healthRunning
	healthStopped
)

type failure struct {
	since time.Time
	err   error
}

func newHealth(now func() time.Time, flushThreshold, readThreshold time.Duration) *health {
	return &health{now: now, flushThreshold: flushThreshold, readThreshold: readThreshold,
		flushFailing: map[string]failure{}, lastRead: map[string]time.Time{}}
}

func (h *health) setState(s int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state = s
}

// flushFailed records a failed attempt to store a file or checkpoint of shard key.
func (h *health) flushFailed(key string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.flushFailing[key]
	if !ok {
		f.since = h.now()
	}
	f.err = err
	h.flushFailing[key] = f
}

// flushOK records a completed flush of shard key.
func (h *health) flushOK(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.flushFailing, key)
}

// readStarted records that shard key is being read. A shard restarted after
// an error keeps the time of its last success.
func (h *health) readStarted(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.lastRead[key]; !ok {
		h.lastRead[key] = h.now()
	}
}

// readOK records a successful GetRecords on shard key.
func (h *health) readOK(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastRead[key] = h.now()
}

// readDone records that shard key was read to its end.
func (h *health) readDone(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.lastRead, key)
}

// check returns nil when healthy, otherwise a one-line error naming the
// problem.
func (h *health) check() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch h.state {
	case healthStarting:
		return errors.New("starting: tables not loaded yet")
	case healthStopped:
		return errors.New("stopped")
	}
	now := h.now()
	var worstKey string
	var worst failure
	for k, f := range h.flushFailing {
		if worstKey == "" || f.since.Before(worst.since) || f.since.Equal(worst.since) && k < worstKey {
			worstKey, worst = k, f
		}
	}
	if worstKey != "" && now.Sub(worst.since) > h.flushThreshold {
		return fmt.Errorf("flush of shard %s failing for %s (threshold %s): %v",
			worstKey, now.Sub(worst.since).Truncate(100*time.Millisecond), h.flushThreshold, worst.err)
	}
	// A shard's worker retries a failing flush before it reads again, so a
	// shard whose flush is failing is not stalled reading: its flush is the
	// problem, reported above once past its threshold.
	var reading int
	var newest time.Time
	for k, t := range h.lastRead {
		if _, failing := h.flushFailing[k]; failing {
			continue
		}
		reading++
		if t.After(newest) {
			newest = t
		}
	}
	if d := now.Sub(newest); reading > 0 && d > h.readThreshold {
		return fmt.Errorf("no successful GetRecords on any of %d shards for %s (threshold %s)",
			reading, d.Truncate(100*time.Millisecond), h.readThreshold)
	}
	return nil
}
