// Package faultstore wraps an object store for protocol tests: it can crash
// at its N-th write or delete (the request lost on its way, or applied with
// its answer lost, and every later request refused, as from a killed
// process), and hold chosen requests until released (a slow endpoint: the
// caller may give up, the request still lands at release).
package faultstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// ErrCrashed is the error of every request from the crash on.
var ErrCrashed = errors.New("crashed")

// Kind is the kind of a request.
type Kind string

// The kinds of requests.
const (
	Put    Kind = "put"
	Delete Kind = "delete"
	Get    Kind = "get"
	List   Kind = "list"
)

// Store wraps a store. The zero value is not usable: use New.
type Store struct {
	objstore.Conditional
	mu         sync.Mutex
	n          int // writes and deletes so far
	crashAt    int
	afterApply bool
	crashed    bool
	crashedCh  chan struct{}
	hold       func(kind Kind, key string) bool
	held       []func()
	heldCh     chan struct{}
	log        []string
	failEvery  int   // every failEvery-th write or delete fails, without landing
	failErr    error // with this error
}

// New wraps b.
func New(b objstore.Conditional) *Store {
	return &Store{Conditional: b, heldCh: make(chan struct{}), crashedCh: make(chan struct{})}
}

// CrashAt makes the n-th write or delete from now on (n >= 1) the crash:
// with afterApply it lands but its caller gets ErrCrashed; otherwise it does
// not land. Every later request fails with ErrCrashed.
func (s *Store) CrashAt(n int, afterApply bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.crashAt, s.afterApply = s.n+n, afterApply
}

// FailEvery makes every n-th write or delete from now on fail with err
// without landing (a transient fault: the caller retries); 0 stops it.
func (s *Store) FailEvery(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failEvery, s.failErr = n, err
}

// Crashed is closed at the crash.
func (s *Store) Crashed() <-chan struct{} { return s.crashedCh }

// Crash crashes the store now: every request from now on fails.
func (s *Store) Crash() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.crashed {
		s.crashed = true
		close(s.crashedCh)
	}
}

// Hold holds the writes and deletes match selects until Release.
func (s *Store) Hold(match func(kind Kind, key string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = match
}

// Release lands every held request, in order, and stops holding.
func (s *Store) Release() {
	s.mu.Lock()
	held := s.held
	s.held, s.hold = nil, nil
	s.mu.Unlock()
	for _, h := range held {
		h()
	}
}

// WaitHeld waits until n requests are held.
func (s *Store) WaitHeld(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		have, ch := len(s.held), s.heldCh
		s.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d requests held: %w", have, n, ctx.Err())
		case <-ch:
		}
	}
}

// Mutations is the number of writes and deletes so far.
func (s *Store) Mutations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Log lists the writes and deletes so far: "N put KEY".
func (s *Store) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *Store) mutate(ctx context.Context, kind Kind, key string, apply func() error) error {
	s.mu.Lock()
	if s.crashed {
		s.mu.Unlock()
		return ErrCrashed
	}
	s.n++
	s.log = append(s.log, fmt.Sprintf("%d %s %s", s.n, kind, key))
	if s.crashAt > 0 && s.n >= s.crashAt {
		s.crashed = true
		close(s.crashedCh)
		after := s.afterApply
		s.mu.Unlock()
		if after {
			apply()
		}
		return ErrCrashed
	}
	if s.failEvery > 0 && s.n%s.failEvery == 0 {
		err := s.failErr
		s.mu.Unlock()
		return err
	}
	if s.hold != nil && s.hold(kind, key) {
		done := make(chan error, 1)
		s.held = append(s.held, func() { done <- apply() })
		close(s.heldCh)
		s.heldCh = make(chan struct{})
		s.mu.Unlock()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err() // the request may still land
		}
	}
	s.mu.Unlock()
	return apply()
}

func (s *Store) read() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.crashed {
		return ErrCrashed
	}
	return nil
}

// PutIf implements objstore.Conditional.
func (s *Store) PutIf(ctx context.Context, key string, r io.Reader, c objstore.Cond) (string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	var etag string
	err = s.mutate(ctx, Put, key, func() error {
		var err error
		etag, err = s.Conditional.PutIf(context.Background(), key, bytes.NewReader(data), c)
		return err
	})
	return etag, err
}

// Put implements objstore.Bucket.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	_, err := s.PutIf(ctx, key, r, objstore.Cond{})
	return err
}

// DeleteIf implements objstore.Conditional.
func (s *Store) DeleteIf(ctx context.Context, key string, c objstore.Cond) error {
	return s.mutate(ctx, Delete, key, func() error { return s.Conditional.DeleteIf(context.Background(), key, c) })
}

// Delete implements objstore.Bucket.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.DeleteIf(ctx, key, objstore.Cond{})
}

// GetVersion implements objstore.Conditional.
func (s *Store) GetVersion(ctx context.Context, key string) (io.ReadCloser, string, error) {
	if err := s.read(); err != nil {
		return nil, "", err
	}
	return s.Conditional.GetVersion(ctx, key)
}

// Get implements objstore.Reader.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := s.read(); err != nil {
		return nil, err
	}
	return s.Conditional.Get(ctx, key)
}

// ListAfter implements objstore.AfterLister.
func (s *Store) ListAfter(ctx context.Context, prefix, after string) ([]objstore.Object, error) {
	if err := s.read(); err != nil {
		return nil, err
	}
	return objstore.ListAfter(ctx, s.Conditional, prefix, after)
}

// List implements objstore.Reader.
func (s *Store) List(ctx context.Context, prefix string) ([]objstore.Object, error) {
	return s.ListAfter(ctx, prefix, "")
}

// Step runs apply as one more request of the store's sequence, with its
// faults: the crash and holding apply to it as to a write. It lets a test
// crash at a step that is not a store request (a catalog commit).
func (s *Store) Step(ctx context.Context, name string, apply func() error) error {
	return s.mutate(ctx, Kind("step"), name, apply)
}
