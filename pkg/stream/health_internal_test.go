package stream

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

func TestHealth(t *testing.T) {
	const limit = 60 * time.Second
	errStore := errors.New("disk full")
	tests := []struct {
		name string
		run  func(h *health, advance func(time.Duration))
		want string // substring of the error; "" for healthy
	}{
		{"starting", func(*health, func(time.Duration)) {}, "starting"},
		{"running idle", func(h *health, adv func(time.Duration)) { h.setState(healthRunning); adv(time.Hour) }, ""},
		{"stopped", func(h *health, _ func(time.Duration)) { h.setState(healthRunning); h.setState(healthStopped) }, "stopped"},
		{"reading, recent GetRecords", func(h *health, adv func(time.Duration)) {
			h.setState(healthRunning)
			h.readStarted("s/a")
			adv(50 * time.Second)
			h.readOK("s/a")
			adv(50 * time.Second)
		}, ""},
		{"reading, stalled", func(h *health, adv func(time.Duration)) {
			h.setState(healthRunning)
			h.readStarted("s/a")
			h.readStarted("s/b")
			adv(61 * time.Second)
		}, "no successful GetRecords on any of 2 shards"},
		{"one shard of two reads", func(h *health, adv func(time.Duration)) {
			h.setState(healthRunning)
			h.readStarted("s/a")
			h.readStarted("s/b")
			adv(50 * time.Second)
			h.readOK("s/b")
			adv(50 * time.Second)
		}, ""},
		{"restarted shard keeps its last success", func(h *health, adv func(time.Duration)) {
			h.setState(healthRunning)
			h.readStarted("s/a")
			adv(40 * time.Second)
			h.readStarted("s/a")
			adv(40 * time.Second)
		}, "no successful GetRecords"},
		{"shard done, nothing read", func(h *health, adv func(time.Duration)) {
			h.setState(healthRunning)
			h.readStarted("s/a")
			h.readDone("s/a")
			adv(time.Hour)
		}, ""},
		{"flush failing briefly", func(h *health, adv func(time.Duration)) {
			h.setState(healthRunning)
			h.flushFailed("s/a", errStore)
			adv(30 * time.Second)
			h.flushFailed("s/a", errStore)
			adv(29 * time.Second)
		}, ""},
		{"flush failing too long", func(h *health, adv func(time.Duration)) {
			h.setState(healthRunning)
			h.flushFailed("s/a", errStore)
			adv(30 * time.Second)
			h.flushFailed("s/a", errStore)
			adv(31 * time.Second)
		}, "flush of shard s/a failing for 1m1s"},
		{"reads wait for a flush failing briefly", func(h *health, adv func(time.Duration)) {
			h.setState(healthRunning)
			h.readStarted("s/a")
			adv(10 * time.Second)
			h.flushFailed("s/a", errStore) // the worker retries it and reads nothing meanwhile
			adv(55 * time.Second)
		}, ""},
		{"reads wait for a flush failing too long", func(h *health, adv func(time.Duration)) {
			h.setState(healthRunning)
			h.readStarted("s/a")
			adv(10 * time.Second)
			h.flushFailed("s/a", errStore)
			adv(61 * time.Second)
		}, "flush of shard s/a failing for 1m1s"},
		{"another shard stalled while one flush fails", func(h *health, adv func(time.Duration)) {
			h.setState(healthRunning)
			h.readStarted("s/a")
			h.readStarted("s/b")
			adv(10 * time.Second)
			h.flushFailed("s/a", errStore)
			adv(55 * time.Second)
		}, "no successful GetRecords on any of 1 shards"},
		{"flush recovered", func(h *health, adv func(time.Duration)) {
			h.setState(healthRunning)
			h.flushFailed("s/a", errStore)
			adv(30 * time.Second)
			h.flushOK("s/a")
			h.flushFailed("s/a", errStore)
			adv(31 * time.Second)
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
			h := newHealth(func() time.Time { return now }, limit, limit)
			tc.run(h, func(d time.Duration) { now = now.Add(d) })
			err := h.check()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("check() = %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Fatalf("check() = %q, want one line", err)
			}
		})
	}
}

func TestHealthOptions(t *testing.T) {
	ok := Options{Streams: map[clean.Table]string{clean.TablePin: "s-pin"}, Tables: &tables.Catalog{}}
	for _, mod := range []func(*Options){
		func(o *Options) { o.FlushFailingAfter = -time.Second },
		func(o *Options) { o.ReadStallAfter = -time.Second },
	} {
		o := ok
		mod(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", o)
		}
	}
	d, err := ok.withDefaults()
	if err != nil || d.FlushFailingAfter != DefaultFlushFailingAfter || d.ReadStallAfter != DefaultReadStallAfter || d.Now == nil {
		t.Fatalf("withDefaults: %+v, %v", d, err)
	}
}
