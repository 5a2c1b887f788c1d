package kinesisfake

import (
	"context"
	"slices"
	"sync"
)

// Op names an operation of kinesisx.API, for Calls and the faults.
type Op string

// The operations.
const (
	OpDescribeStreamSummary Op = "DescribeStreamSummary"
	OpListShards            Op = "ListShards"
	OpGetShardIterator      Op = "GetShardIterator"
	OpGetRecords            Op = "GetRecords"
)

// Call is one call of the API, as the predicates of FailIf and Hold see it.
type Call struct {
	Op Op
	// N counts the calls of Op since New, this one included: 1 for the first.
	N int64
	// Stream and Shard are what the call is about, as far as its input says
	// (GetRecords: its iterator's; ListShards with a NextToken: the token's
	// stream); else "".
	Stream, Shard string
	// Input is the call's input (*kinesis.GetRecordsInput, ...). Do not
	// modify it.
	Input any
}

// A rule is an injected fault: a failure at a given call (at > 0), a
// failure of every matching call, or a hold.
type rule struct {
	op    Op
	at    int64
	match func(Call) bool
	err   error
	hold  *Hold
}

// FailNth makes the n-th call of op from now on fail with err (n = 1, or
// less: the next one; on a new Fake, the call whose Call.N is n). The call does
// nothing else. err is returned wrapped in a *smithy.OperationError, as the
// SDK wraps the service's errors: errors.As finds it.
func (f *Fake) FailNth(op Op, n int64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &rule{op: op, at: f.calls[op] + max(n, 1), err: err})
}

// FailIf makes every call for which match returns true fail with err, as
// FailNth does, until stop is called. match runs outside the fake's lock
// and may be called concurrently; it must not block.
func (f *Fake) FailIf(match func(Call) bool, err error) (stop func()) {
	r := &rule{match: match, err: err}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
	return func() { f.remove(r) }
}

// Hold holds every call for which match returns true, before it does
// anything, until Release: a held call then runs on the state of that
// moment. Hold.Wait waits until calls are held. A held call whose context
// ends returns its error. match runs as FailIf's does.
func (f *Fake) Hold(match func(Call) bool) *Hold {
	h := &Hold{f: f, released: make(chan struct{}), changed: make(chan struct{})}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &rule{match: match, hold: h})
	return h
}

func (f *Fake) remove(r *rule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = slices.DeleteFunc(f.rules, func(x *rule) bool { return x == r })
}

// Calls returns how many calls of op the fake has had, failed and held ones
// included.
func (f *Fake) Calls(op Op) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// WaitCalls waits until the fake has had at least n calls of op, or ctx is
// done (it then returns ctx.Err()).
func (f *Fake) WaitCalls(ctx context.Context, op Op, n int64) error {
	for {
		f.mu.Lock()
		c, changed := f.calls[op], f.changed
		f.mu.Unlock()
		if c >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// enter counts the call and applies the faults: it returns the injected
// error, if any, after any hold is released.
func (f *Fake) enter(ctx context.Context, c *Call) error {
	f.mu.Lock()
	f.calls[c.Op]++
	c.N = f.calls[c.Op]
	close(f.changed)
	f.changed = make(chan struct{})
	var failed error
	var rules []*rule
	f.rules = slices.DeleteFunc(f.rules, func(r *rule) bool {
		switch {
		case r.at == 0:
			rules = append(rules, r)
			return false
		case r.op != c.Op || r.at > c.N:
			return false
		case r.at == c.N && failed == nil:
			failed = r.err
		}
		return true
	})
	f.mu.Unlock()
	for _, r := range rules {
		if !r.match(*c) {
			continue
		}
		if r.hold != nil {
			if err := r.hold.wait(ctx); err != nil {
				return err
			}
		} else if failed == nil {
			failed = r.err
		}
	}
	if failed != nil {
		return failed
	}
	return ctx.Err()
}

// Hold holds calls until Release; see Fake.Hold.
type Hold struct {
	f        *Fake
	released chan struct{}
	once     sync.Once

	mu      sync.Mutex
	held    int
	changed chan struct{} // closed and replaced when a call is held
}

func (h *Hold) wait(ctx context.Context) error {
	h.mu.Lock()
	h.held++
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	select {
	case <-h.released:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait waits until at least n calls have been held since Fake.Hold (those
// released or given up included), or ctx is done (it then returns
// ctx.Err()).
func (h *Hold) Wait(ctx context.Context, n int) error {
	for {
		h.mu.Lock()
		c, changed := h.held, h.changed
		h.mu.Unlock()
		if c >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Release lets the held calls go on and stops holding. Calling it again
// does nothing.
func (h *Hold) Release() {
	h.once.Do(func() {
		h.f.mu.Lock()
		h.f.rules = slices.DeleteFunc(h.f.rules, func(r *rule) bool { return r.hold == h })
		h.f.mu.Unlock()
		close(h.released)
	})
}
