package sink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// errLeaseLost: the coordinator said this member is no longer in the
// generation (or the generation's workers are done): its partitions may
// belong to another member, so it must change nothing more.
var errLeaseLost = errors.New("no longer a member of the generation")

// minLeaseLeft is the least lease a request is sent with: a presigned S3
// request expires on a whole second at least a second before its deadline
// (objstore.Cond.Deadline), so less than two seconds cannot be sent.
const minLeaseLeft = 2 * time.Second

// leaseMargin is how much earlier than the coordinator could evict this
// member the lease ends: room for the clocks of this host and of the
// object store to disagree, since S3 checks a request's deadline by its own
// clock.
const leaseMargin = time.Second

// membership is this instance's membership in one generation of its group,
// and the lease it gives: the moment until which the coordinator cannot
// have given this member's partitions to another member. That is the send
// time of the last heartbeat the coordinator acknowledged, plus the session
// timeout (a member is evicted a session timeout after its last heartbeat,
// and a rebalance waits a rebalance timeout, equal to it, for members to
// rejoin), less leaseMargin. Every object write and delete carries the
// lease as its deadline, so none takes effect after another member can own
// the partition.
//
// It sends its own heartbeats: kafka-go stops its own as soon as one
// function of the generation returns, but at shutdown the other partitions
// still store and commit their last objects within the generation.
type membership struct {
	client  *kafka.Client
	gen     generation
	session time.Duration
	every   time.Duration
	now     func() time.Time

	mu      sync.Mutex
	until   time.Time     // lease end; zero until the first acknowledged heartbeat
	lost    error         // set once the lease is lost for good
	changed chan struct{} // closed and replaced when until or lost change
}

// generation identifies a generation of a consumer group.
type generation struct {
	group  string
	id     int32
	member string
}

func newMembership(client *kafka.Client, gen generation, session time.Duration, now func() time.Time) *membership {
	return &membership{client: client, gen: gen, session: session, every: min(time.Second, session/5),
		now: now, changed: make(chan struct{})}
}

// run heartbeats until ctx ends, then marks the lease lost.
func (m *membership) run(ctx context.Context) {
	defer m.set(time.Time{}, errLeaseLost)
	t := time.NewTicker(m.every)
	defer t.Stop()
	for {
		sent := m.now()
		hctx, cancel := context.WithTimeout(ctx, m.session)
		resp, err := m.client.Heartbeat(hctx, &kafka.HeartbeatRequest{GroupID: m.gen.group, GenerationID: m.gen.id, MemberID: m.gen.member})
		cancel()
		switch {
		case err != nil:
			// Not renewed; the lease runs out unless a later one succeeds.
		case resp.Error == nil:
			m.set(sent.Add(m.session-leaseMargin), nil)
		case errors.Is(resp.Error, kafka.RebalanceInProgress):
			// Still a member until the rebalance completes, which it may do
			// without us a rebalance timeout after it began (after our last
			// acknowledged heartbeat): not renewed.
		default: // unknown member, illegal generation, ...
			m.set(time.Time{}, fmt.Errorf("%w: %w", errLeaseLost, resp.Error))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *membership) set(until time.Time, lost error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lost != nil {
		return
	}
	if lost != nil {
		m.lost = lost
	} else if until.After(m.until) {
		m.until = until
	} else {
		return
	}
	close(m.changed)
	m.changed = make(chan struct{})
}

// deadline returns the lease end once at least minLeaseLeft of it is left,
// waiting for a heartbeat to renew it if need be. It fails when the lease
// is lost for good or ctx ends.
func (m *membership) deadline(ctx context.Context) (time.Time, error) {
	for {
		m.mu.Lock()
		until, lost, changed := m.until, m.lost, m.changed
		m.mu.Unlock()
		if lost != nil {
			return time.Time{}, lost
		}
		if until.Sub(m.now()) >= minLeaseLeft {
			return until, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, context.Cause(ctx)
		case <-changed:
		}
	}
}
