package retry

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// fakeClock advances by each wait at once and records the waits. With
// cancelAt > 0, the cancelAt-th wait cancels the context instead.
type fakeClock struct {
	now      time.Time
	waits    []time.Duration
	cancelAt int
	cancel   context.CancelCauseFunc
	cause    error
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.waits = append(c.waits, d)
	if len(c.waits) == c.cancelAt {
		c.cancel(c.cause)
		return ctx.Err()
	}
	c.now = c.now.Add(d)
	return nil
}

// failing returns an op that fails n times with errs (the last one
// repeated), then succeeds; calls counts its calls.
func failing(n int, calls *int, errs ...error) func(context.Context) error {
	return func(context.Context) error {
		*calls++
		if *calls > n {
			return nil
		}
		return errs[min(*calls, len(errs))-1]
	}
}

var errBusy = errors.New("busy")

func TestRetrier(t *testing.T) {
	errGone := errors.New("gone")
	stop := errors.New("stop")
	ms := time.Millisecond
	tests := []struct {
		name      string
		p         Policy
		fails     int
		errs      []error
		cancelAt  int  // cancel the context at this wait
		cancelled bool // cancel the context before Do
		upperOnly bool // the waits at the lower bounds of the jitter would not run the time out
		wantCalls int
		wantWaits []time.Duration // with the upper bound of each jitter
		wantErr   []error         // errors.Is targets; none: nil
		wantMsg   string
	}{
		{name: "success at once", fails: 0, errs: []error{errBusy}, wantCalls: 1},
		{name: "success after retries, defaults", fails: 3, errs: []error{errBusy}, wantCalls: 4,
			wantWaits: []time.Duration{100 * ms, 200 * ms, 400 * ms}},
		{name: "capped", p: Policy{Initial: time.Second, Max: 3 * time.Second}, fails: 4, errs: []error{errBusy},
			wantCalls: 5, wantWaits: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}},
		{name: "max below initial", p: Policy{Initial: time.Second, Max: ms}, fails: 2, errs: []error{errBusy},
			wantCalls: 3, wantWaits: []time.Duration{time.Second, time.Second}},
		{name: "attempts run out", p: Policy{MaxAttempts: 3}, fails: 10, errs: []error{errBusy}, wantCalls: 3,
			wantWaits: []time.Duration{100 * ms, 200 * ms}, wantErr: []error{errBusy}, wantMsg: "after 3 attempts: busy"},
		{name: "one attempt", p: Policy{MaxAttempts: 1}, fails: 10, errs: []error{errBusy}, wantCalls: 1,
			wantErr: []error{errBusy}, wantMsg: "after 1 attempts: busy"},
		{name: "time runs out", p: Policy{MaxElapsed: 700 * ms}, fails: 10, errs: []error{errBusy}, upperOnly: true, wantCalls: 4,
			wantWaits: []time.Duration{100 * ms, 200 * ms, 400 * ms}, wantErr: []error{errBusy}, wantMsg: "after 4 attempts: busy"},
		{name: "permanent", fails: 10, errs: []error{errBusy, Permanent(errGone)}, wantCalls: 2,
			wantWaits: []time.Duration{100 * ms}, wantErr: []error{errGone}, wantMsg: "gone"},
		{name: "cancelled during a wait", fails: 10, errs: []error{errBusy}, cancelAt: 2, wantCalls: 2,
			wantWaits: []time.Duration{100 * ms, 200 * ms}, wantErr: []error{stop, errBusy}, wantMsg: "stop (last error: busy)"},
		{name: "cancelled before", fails: 10, errs: []error{errBusy}, cancelled: true, wantCalls: 1,
			wantErr: []error{stop, errBusy}, wantMsg: "stop (last error: busy)"},
		{name: "cancelled, the error is the cause", fails: 10, errs: []error{stop}, cancelled: true, wantCalls: 1,
			wantErr: []error{stop}, wantMsg: "stop"},
		{name: "cancelled beats permanent", fails: 10, errs: []error{Permanent(errGone)}, cancelled: true, wantCalls: 1,
			wantErr: []error{stop, errGone}, wantMsg: "stop (last error: gone)"},
	}
	for _, tc := range tests {
		for _, jitter := range []Jitter{EqualJitter, FullJitter} {
			name := tc.name + "/equal"
			if jitter == FullJitter {
				name = tc.name + "/full"
			}
			t.Run(name, func(t *testing.T) {
				for _, upper := range []bool{true, false} {
					if !upper && tc.upperOnly {
						continue
					}
					ctx, cancel := context.WithCancelCause(t.Context())
					defer cancel(nil)
					if tc.cancelled {
						cancel(stop)
					}
					clock := &fakeClock{now: time.Unix(1e9, 0), cancelAt: tc.cancelAt, cancel: cancel, cause: stop}
					var notified []int
					p := tc.p
					p.Clock, p.Jitter = clock, jitter
					p.Notify = func(_ error, n int, _ time.Duration) {
						notified = append(notified, n)
						if len(clock.waits) != n-1 {
							t.Errorf("notified of attempt %d after %d waits", n, len(clock.waits))
						}
					}
					calls := 0
					r := New(p)
					r.rand = func(n int64) int64 { // the upper or lower bound of each draw
						if upper {
							return n - 1
						}
						return 0
					}
					op := failing(tc.fails, &calls, tc.errs...)
					var err error
					for {
						if err = op(ctx); err == nil {
							break
						}
						if err = r.Wait(ctx, err); err != nil {
							break
						}
					}
					if calls != tc.wantCalls {
						t.Errorf("upper=%v: %d calls, want %d", upper, calls, tc.wantCalls)
					}
					var want []time.Duration
					for _, d := range tc.wantWaits {
						switch {
						case upper:
							want = append(want, d)
						case jitter == EqualJitter:
							want = append(want, d/2)
						default:
							want = append(want, 0)
						}
					}
					if !slices.Equal(clock.waits, want) {
						t.Errorf("upper=%v: waits %v, want %v", upper, clock.waits, want)
					}
					if len(notified) != len(want) {
						t.Errorf("upper=%v: notified %v for %d waits", upper, notified, len(want))
					}
					for i, n := range notified {
						if n != i+1 {
							t.Errorf("upper=%v: notified attempts %v, want 1, 2, ...", upper, notified)
							break
						}
					}
					if len(tc.wantErr) == 0 {
						if err != nil {
							t.Errorf("upper=%v: err %v, want nil", upper, err)
						}
						continue
					}
					for _, target := range tc.wantErr {
						if !errors.Is(err, target) {
							t.Errorf("upper=%v: err %v does not wrap %v", upper, err, target)
						}
					}
					if err != nil && err.Error() != tc.wantMsg {
						t.Errorf("upper=%v: err %q, want %q", upper, err, tc.wantMsg)
					}
				}
			})
		}
	}
}

func TestJitterBounds(t *testing.T) {
	for _, jitter := range []Jitter{EqualJitter, FullJitter} {
		clock := &fakeClock{now: time.Unix(0, 0)}
		r := New(Policy{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond, Jitter: jitter, Clock: clock})
		for range 2000 {
			if err := r.Wait(t.Context(), errBusy); err != nil {
				t.Fatal(err)
			}
		}
		for i, w := range clock.waits {
			d := r.backoff(i + 1)
			lo := d / 2
			if jitter == FullJitter {
				lo = 0
			}
			if w < lo || w > d {
				t.Fatalf("jitter %d: wait %d is %v, want in [%v, %v]", jitter, i+1, w, lo, d)
			}
		}
		if d := r.backoff(len(clock.waits)); d != 80*time.Millisecond {
			t.Errorf("backoff after %d failures = %v, want the cap", len(clock.waits), d)
		}
	}
}

func TestBackoffNoOverflow(t *testing.T) {
	r := New(Policy{Initial: time.Nanosecond, Max: time.Duration(1<<63 - 1)})
	prev := time.Duration(0)
	for n := 1; n < 200; n++ {
		d := r.backoff(n)
		if d < prev || d <= 0 {
			t.Fatalf("backoff(%d) = %v after %v", n, d, prev)
		}
		prev = d
	}
	if prev != r.p.Max {
		t.Errorf("backoff(199) = %v, want the cap", prev)
	}
}

func TestReset(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	r := New(Policy{MaxAttempts: 3, MaxElapsed: time.Second, Clock: clock})
	r.rand = func(n int64) int64 { return n - 1 }
	for range 2 {
		if err := r.Wait(t.Context(), errBusy); err != nil {
			t.Fatal(err)
		}
	}
	clock.now = clock.now.Add(time.Hour)
	r.Reset()
	if r.Attempts() != 0 {
		t.Errorf("Attempts after Reset = %d", r.Attempts())
	}
	if err := r.Wait(t.Context(), errBusy); err != nil {
		t.Fatalf("Wait after Reset: %v", err)
	}
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 100 * time.Millisecond}; !slices.Equal(clock.waits, want) {
		t.Errorf("waits %v, want %v", clock.waits, want)
	}
}

func TestPermanent(t *testing.T) {
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
	err := Permanent(errBusy)
	if !IsPermanent(err) || IsPermanent(errBusy) || !errors.Is(err, errBusy) || err.Error() != "busy" {
		t.Errorf("Permanent(busy) = %v", err)
	}
	if wrapped := errors.Join(errors.New("x"), err); !IsPermanent(wrapped) {
		t.Error("a wrapped permanent error is not permanent")
	}
}

// TestRealClock covers the real clock without waiting: a cancelled context
// ends the first wait.
func TestRealClock(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("stop")
	calls := 0
	err := Do(ctx, Policy{Initial: time.Hour}, func(context.Context) error {
		calls++
		cancel(stop)
		return errBusy
	})
	if calls != 1 || !errors.Is(err, stop) || !errors.Is(err, errBusy) {
		t.Errorf("Do = %v after %d calls, want stop wrapping busy after 1", err, calls)
	}
}
