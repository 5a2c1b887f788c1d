// Package retry calls an operation again after it fails, with capped
// exponential backoff and jitter, until it succeeds, fails permanently, runs
// out of attempts or time, or its context ends: the retry loop of pinpipe's
// clients, written once.
//
// Do retries a function. A loop that does more than call one function
// between waits (a partial retry of a batch, two calls sharing one backoff)
// uses a Retrier: New, Wait after each failure, Reset after a success.
package retry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pinpipe/pinpipe/internal/ctxwait"
)

// Defaults of Policy.
const (
	DefaultInitial = 100 * time.Millisecond
	DefaultMax     = 5 * time.Second
)

// Jitter says how a wait is drawn from the backoff d of an attempt.
type Jitter int

const (
	// EqualJitter draws a wait uniformly in [d/2, d]: spread, and never
	// much shorter than the backoff.
	EqualJitter Jitter = iota
	// FullJitter draws a wait uniformly in [0, d]: the most spread, for
	// many clients retrying against one service.
	FullJitter
)

// Policy says how to retry. The zero value retries without end, with
// backoffs of 100ms, 200ms, 400ms, ... up to 5s, equal jitter.
type Policy struct {
	// Initial is the backoff after the first failure; it doubles after each
	// next one. Default: DefaultInitial.
	Initial time.Duration
	// Max caps the backoff. Default: DefaultMax; never less than Initial.
	Max time.Duration
	// Jitter draws each wait from the backoff. Default: EqualJitter.
	Jitter Jitter
	// MaxAttempts bounds the attempts (the first call included); 0 or
	// less: no bound.
	MaxAttempts int
	// MaxElapsed bounds the time from the start (New, or the last Reset)
	// to the end of a wait: a retry that would start later is not made.
	// 0 or less: no bound.
	MaxElapsed time.Duration
	// Notify, when set, is called before each wait with the error of the
	// failed attempt, the number of attempts made so far and the wait.
	Notify func(err error, attempts int, wait time.Duration)
	// Clock measures the elapsed time and waits. Default: the real clock.
	Clock Clock
}

// Clock is the time source of a Retrier; tests pass a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx is done: then it returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time                                   { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error { return ctxwait.Sleep(ctx, d) }

// Permanent marks err as one that retrying cannot fix: Wait and Do return
// it at once. The result wraps err (errors.Is and errors.As see through it)
// and has its message. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err is, or wraps, an error marked by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Do calls op until it returns nil, and returns nil; or returns the error
// that ends the retries (see Retrier.Wait): a permanent error, the last
// error wrapped with the number of attempts when they or the time run out,
// or the context's cause wrapping the last error. op is called at least once.
func Do(ctx context.Context, p Policy, op func(context.Context) error) error {
	r := New(p)
	for {
		err := op(ctx)
		if err == nil {
			return nil
		}
		if err := r.Wait(ctx, err); err != nil {
			return err
		}
	}
}

// Retrier is the state of one series of attempts under a Policy. It is not
// safe for concurrent use.
type Retrier struct {
	p        Policy
	attempts int
	start    time.Time
	rand     func(n int64) int64 // in [0, n)
}

// New returns a Retrier for p, started now.
func New(p Policy) *Retrier {
	if p.Initial <= 0 {
		p.Initial = DefaultInitial
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	p.Max = max(p.Max, p.Initial)
	if p.Clock == nil {
		p.Clock = realClock{}
	}
	return &Retrier{p: p, start: p.Clock.Now(), rand: rand.Int64N}
}

// Reset starts a new series: the next failure waits Initial again, and
// MaxElapsed counts from now.
func (r *Retrier) Reset() {
	r.attempts = 0
	r.start = r.p.Clock.Now()
}

// Attempts is the number of failed attempts reported to Wait since the
// start.
func (r *Retrier) Attempts() int { return r.attempts }

// Wait is called after an attempt failed with err (not nil). It returns
// nil once the next attempt may be made, after a wait; or, without
// waiting, the error that ends the series:
//   - context.Cause(ctx) wrapping err, when ctx is done (before or during
//     the wait); err itself when it already wraps that cause;
//   - err, when it is marked Permanent;
//   - err wrapped as "after N attempts: ...", when MaxAttempts attempts
//     were made or the wait would end past MaxElapsed.
func (r *Retrier) Wait(ctx context.Context, err error) error {
	r.attempts++
	if cause := context.Cause(ctx); cause != nil {
		return stopped(cause, err)
	}
	if IsPermanent(err) {
		return err
	}
	if r.p.MaxAttempts > 0 && r.attempts >= r.p.MaxAttempts {
		return fmt.Errorf("after %d attempts: %w", r.attempts, err)
	}
	wait := r.jitter(r.backoff(r.attempts))
	if r.p.MaxElapsed > 0 && r.p.Clock.Now().Add(wait).Sub(r.start) > r.p.MaxElapsed {
		return fmt.Errorf("after %d attempts: %w", r.attempts, err)
	}
	if r.p.Notify != nil {
		r.p.Notify(err, r.attempts, wait)
	}
	if serr := r.p.Clock.Sleep(ctx, wait); serr != nil {
		return stopped(cmp.Or(context.Cause(ctx), serr), err)
	}
	return nil
}

// stopped is the error of a series ended by its context.
func stopped(cause, last error) error {
	if errors.Is(last, cause) {
		return last
	}
	return fmt.Errorf("%w (last error: %w)", cause, last)
}

// backoff is the backoff after the n-th failure (n >= 1): Initial doubled
// n-1 times, capped at Max.
func (r *Retrier) backoff(n int) time.Duration {
	d := r.p.Initial
	for i := 1; i < n && d < r.p.Max; i++ {
		if d > r.p.Max/2 {
			return r.p.Max
		}
		d *= 2
	}
	return d
}

// jitter draws a wait from the backoff d.
func (r *Retrier) jitter(d time.Duration) time.Duration {
	if r.p.Jitter == FullJitter {
		return time.Duration(r.rand(int64(d) + 1))
	}
	return d/2 + time.Duration(r.rand(int64(d-d/2)+1))
}
