package sink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/faultstore"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// The protocol of a partition worker, without Kafka or a store server:
// every test runs owners of one partition in turn (or at once) over the
// fakes, and checks that the objects hold every offset of the log exactly
// once.

const testTopic = "p.pin"

type harness struct {
	t     *testing.T
	clock *simClock
	log   *fakeLog
	group *fakeGroup
}

func newHarness(t *testing.T, records int) *harness {
	h := &harness{t: t, clock: newSimClock(), log: newFakeLog(), group: newFakeGroup()}
	h.addRecords(records)
	return h
}

// memory returns a store whose deadlines follow the simulated clock; with
// s3ETags its ETags are the content's MD5, as on S3.
func (h *harness) memory(s3ETags bool) *objstore.Memory {
	m := objstore.NewMemory()
	if s3ETags {
		m = objstore.NewMemoryS3ETags()
	}
	m.SetClock(h.clock.Now)
	return m
}

func (h *harness) addRecords(n int) {
	from := int(h.log.len())
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf(`{"ind":%d}`, from+i)
	}
	h.log.append(vals...)
}

// owner is one member's run of the partition worker, in one generation.
type owner struct {
	fetch     *logFetcher
	lease     *fakeLease
	shutdown  context.CancelFunc // SIGTERM: store the partial object, commit, return
	rebalance context.CancelFunc // the generation ends: abandon, return
	done      chan struct{}
}

// start runs a worker in a new generation of the group.
func (h *harness) start(store objstore.Conditional, cfg Config) *owner {
	h.t.Helper()
	cfg.Brokers = []string{"fake:9092"}
	cfg.Topics = []string{testTopic}
	cfg.Now = h.clock.Now
	s, err := New(cfg, store)
	if err != nil {
		h.t.Fatal(err)
	}
	s.sleepUntil = h.clock.sleepUntil
	committer, from := h.group.next()
	o := &owner{fetch: h.log.fetcher(), lease: &fakeLease{clock: h.clock}, done: make(chan struct{})}
	runCtx, shutdown := context.WithCancel(context.Background())
	genCtx, rebalance := context.WithCancel(context.Background())
	o.shutdown, o.rebalance = shutdown, rebalance
	l := &lander{s: s, topic: testTopic, partition: 0, log: slog.New(slog.DiscardHandler),
		io: partitionIO{fetch: o.fetch, commit: committer, lease: o.lease}}
	go func() {
		defer close(o.done)
		l.run(runCtx, genCtx, from)
	}()
	h.t.Cleanup(func() { shutdown(); rebalance(); <-o.done })
	return o
}

// finish runs an owner until it has fetched the whole log, then shuts it
// down (which stores the partial object) and checks the log is committed.
func (h *harness) finish(store objstore.Conditional, cfg Config) {
	h.t.Helper()
	o := h.start(store, cfg)
	ctx, cancel := context.WithTimeout(h.t.Context(), 20*time.Second)
	defer cancel()
	if err := o.fetch.waitFetched(ctx, h.log.len()); err != nil {
		h.t.Fatal(err)
	}
	o.shutdown()
	<-o.done
	if got := h.group.offset(); got != h.log.len() {
		h.t.Fatalf("committed %d after shutdown, want %d", got, h.log.len())
	}
}

// crashOrFinish runs an owner on a faulty store until it crashes, or until
// it has fetched the whole log and then, shut down, crashes storing its
// partial object or finishes. A crashed owner is stopped as a killed
// process would be: nothing more of it lands.
func (h *harness) crashOrFinish(store objstore.Conditional, crashed <-chan struct{}, cfg Config) {
	h.t.Helper()
	cfg.ShutdownTimeout = 20 * time.Millisecond
	o := h.start(store, cfg)
	ctx, cancel := context.WithTimeout(h.t.Context(), 20*time.Second)
	defer cancel()
	fetched := make(chan error, 1)
	go func() { fetched <- o.fetch.waitFetched(ctx, h.log.len()) }()
	select {
	case <-crashed:
		o.rebalance()
	case err := <-fetched:
		if err != nil {
			h.t.Fatal(err)
		}
		o.shutdown()
		select {
		case <-crashed:
			o.rebalance()
		case <-o.done:
		}
	}
	<-o.done
}

// landed reads the partition's objects back: the value of each offset, and
// how many objects hold it.
func landed(t *testing.T, store objstore.Reader) (values map[int64]string, copies map[int64]int) {
	t.Helper()
	ctx := context.Background()
	objs, err := store.List(ctx, landing.TopicDir(testTopic))
	if err != nil {
		t.Fatal(err)
	}
	values, copies = map[int64]string{}, map[int64]int{}
	for _, o := range objs {
		k, err := landing.ParseKey(o.Key)
		if err != nil {
			t.Fatalf("an object outside the layout: %v", err)
		}
		rc, err := store.Get(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(rc)
		off := k.Start
		for sc.Scan() {
			values[off] = sc.Text()
			copies[off]++
			off++
		}
		rc.Close()
	}
	return values, copies
}

// checkOnce fails unless the objects hold every offset of the log exactly
// once, with its record, and nothing else.
func (h *harness) checkOnce(store objstore.Reader) {
	h.t.Helper()
	if err := h.landedOnce(store); err != nil {
		h.t.Error(err)
	}
}

func (h *harness) landedOnce(store objstore.Reader) error {
	values, copies := landed(h.t, store)
	n := h.log.len()
	var problems []string
	for off := range n {
		want := fmt.Sprintf(`{"ind":%d}`, off)
		switch {
		case copies[off] == 0:
			problems = append(problems, fmt.Sprintf("offset %d lost", off))
		case copies[off] > 1:
			problems = append(problems, fmt.Sprintf("offset %d landed %d times", off, copies[off]))
		case values[off] != want:
			problems = append(problems, fmt.Sprintf("offset %d holds %s, want %s", off, values[off], want))
		}
	}
	for off := range copies {
		if off >= n {
			problems = append(problems, fmt.Sprintf("offset %d is not in the log", off))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func TestLandPartition(t *testing.T) {
	for _, flush := range []int{1, 4, 100} {
		t.Run(fmt.Sprint("flush-", flush), func(t *testing.T) {
			h := newHarness(t, 23)
			mem := h.memory(false)
			o := h.start(mem, Config{FlushSize: flush})
			// The full objects land while the worker runs; the partial one at shutdown.
			if n := 23 / flush * flush; n > 0 {
				if err := h.group.waitCommitted(t.Context(), int64(n)); err != nil {
					t.Fatal(err)
				}
			}
			h.addRecords(9)
			if n := 32 / flush * flush; n > 0 {
				if err := h.group.waitCommitted(t.Context(), int64(n)); err != nil {
					t.Fatal(err)
				}
			}
			o.shutdown()
			<-o.done
			if got := h.group.offset(); got != 32 {
				t.Errorf("committed %d after shutdown, want 32", got)
			}
			h.checkOnce(mem)
		})
	}
}

// TestCrashAtEveryStep crashes an owner at each of its store requests, the
// request lost on its way or applied with its answer lost, and at each of
// its commits; a next owner, with another flush size, then lands the rest.
// A third owner takes over from a second one crashed early, during its
// clean-up. Every offset must land exactly once.
func TestCrashAtEveryStep(t *testing.T) {
	const records = 23
	for _, tc := range []struct {
		name           string
		flushA, flushB int
	}{
		{"flush-1-then-3", 1, 3},
		{"flush-4-then-3", 4, 3},
		{"flush-5-then-5", 5, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A clean run counts the requests and commits to crash at.
			h := newHarness(t, records)
			clean := faultstore.New(h.memory(false))
			h.finish(clean, Config{FlushSize: tc.flushA})
			steps, commits := clean.Mutations(), h.group.commits
			for k := 1; k <= steps; k++ {
				for _, after := range []bool{false, true} {
					for _, bCrash := range []int{0, 1, 2} {
						name := fmt.Sprintf("request-%d-applied-%v-then-crash-%d", k, after, bCrash)
						h := newHarness(t, records)
						mem := h.memory(false)
						fs := faultstore.New(mem)
						fs.CrashAt(k, after)
						h.crashOrFinish(fs, fs.Crashed(), Config{FlushSize: tc.flushA})
						if bCrash > 0 {
							fb := faultstore.New(mem)
							fb.CrashAt(bCrash, false)
							h.crashOrFinish(fb, fb.Crashed(), Config{FlushSize: tc.flushB})
						}
						h.finish(mem, Config{FlushSize: tc.flushB})
						if err := h.landedOnce(mem); err != nil {
							t.Errorf("%s: %v", name, err)
						}
					}
				}
			}
			for k := 1; k <= commits; k++ {
				h := newHarness(t, records)
				mem := h.memory(false)
				h.group.crashAt = k
				h.crashOrFinish(mem, h.group.crashedCh, Config{FlushSize: tc.flushA})
				h.group.crashAt = 0
				h.finish(mem, Config{FlushSize: tc.flushB})
				if err := h.landedOnce(mem); err != nil {
					t.Errorf("commit %d: %v", k, err)
				}
			}
		})
	}
}

// TestNoCommittedOffset: a first owner stored objects and died before its
// first commit, and the log was trimmed since. The next owner, with no
// committed offset, starts at the log-start offset and removes what the
// first one left from there, so no re-cut copy lands beside it.
func TestNoCommittedOffset(t *testing.T) {
	h := newHarness(t, 20)
	h.log.trimmed = 4
	mem := h.memory(false)
	// Left by the first owner, cut by 3 from offset 4: [4,7) [7,10) [10,13).
	for start := int64(4); start < 13; start += 3 {
		var b strings.Builder
		for off := start; off < start+3; off++ {
			fmt.Fprintf(&b, "{\"ind\":%d}\n", off)
		}
		key := landing.Key{Topic: testTopic, Start: start}.String()
		if err := mem.Put(t.Context(), key, strings.NewReader(b.String())); err != nil {
			t.Fatal(err)
		}
	}
	h.finish(mem, Config{FlushSize: 5})
	values, copies := landed(t, mem)
	for off := int64(4); off < 20; off++ {
		if copies[off] != 1 || values[off] != fmt.Sprintf(`{"ind":%d}`, off) {
			t.Errorf("offset %d: %d copies, %q", off, copies[off], values[off])
		}
	}
	if len(copies) != 16 {
		t.Errorf("%d offsets landed, want 16 (4 to 19)", len(copies))
	}
}

// unfenced strips the conditions of every request, as the sink's requests
// were before they were fenced: a PUT replaces whatever is there and a
// DELETE removes it, whenever they land.
type unfenced struct{ *faultstore.Store }

func (u unfenced) PutIf(ctx context.Context, key string, r io.Reader, _ objstore.Cond) (string, error) {
	return u.Store.PutIf(ctx, key, r, objstore.Cond{})
}

func (u unfenced) DeleteIf(ctx context.Context, key string, _ objstore.Cond) error {
	return u.Store.DeleteIf(ctx, key, objstore.Cond{})
}

// TestDepartingOwnerLateWrite is the scenario of a review: instance A is
// shut down while the store holds its writes; its final partial object
// [20,25) is still on its way when instance B takes the partition at the
// committed offset 20, stores [20,30) and commits 30. A's PUT then lands.
// It must not replace B's object: it carried A's lease as its deadline, and
// the store refuses it. Without the fence the test sees offsets 25-29 lost.
func TestDepartingOwnerLateWrite(t *testing.T) {
	for _, fenced := range []bool{true, false} {
		t.Run(fmt.Sprint("fenced-", fenced), func(t *testing.T) {
			h := newHarness(t, 25)
			mem := h.memory(true)
			h.finish(mem, Config{FlushSize: 10}) // [0,10) [10,20) and, at shutdown, [20,25)
			// Undo the last object and commit, as if A were still storing it.
			if err := mem.Delete(t.Context(), landing.Key{Topic: testTopic, Start: 20}.String()); err != nil {
				t.Fatal(err)
			}
			h.group.committed = 20

			fs := faultstore.New(mem)
			fs.Hold(func(kind faultstore.Kind, key string) bool { return kind == faultstore.Put })
			var store objstore.Conditional = fs
			if !fenced {
				store = unfenced{fs}
			}
			a := h.start(store, Config{FlushSize: 10, ShutdownTimeout: 50 * time.Millisecond})
			if err := fs.WaitHeld(t.Context(), 0); err != nil {
				t.Fatal(err)
			}
			a.shutdown() // stores the partial [20,25): held
			if err := fs.WaitHeld(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
			<-a.done // gave up after ShutdownTimeout, waited out its lease
			h.addRecords(5)
			var storeB objstore.Conditional = mem
			if !fenced {
				storeB = unfenced{faultstore.New(mem)}
			}
			h.finish(storeB, Config{FlushSize: 10}) // B: [20,30), commits 30
			fs.Release()                            // A's PUT lands now
			err := h.landedOnce(mem)
			if fenced && err != nil {
				t.Errorf("A's late write damaged B's objects: %v", err)
			}
			if !fenced && (err == nil || !strings.Contains(err.Error(), "offset 25 lost")) {
				t.Errorf("without the fence: %v, want offsets 25-29 lost (the test would not see the fault)", err)
			}
		})
	}
}

// TestPausedOwnerLateDelete: instance A is assigned the partition and
// lists an object left uncommitted at 20, then is paused (a VM freeze)
// while its DELETE of it is on the way. The coordinator evicts A after the
// session timeout; B removes the object itself, stores [20,30) with the
// same content at the same key, and commits 30. A's DELETE then lands. It
// must not remove B's object: S3 ETags are the content's MD5, so If-Match
// alone cannot tell B's object from the one A listed; A's lease, as the
// deadline, can.
func TestPausedOwnerLateDelete(t *testing.T) {
	for _, fenced := range []bool{true, false} {
		t.Run(fmt.Sprint("fenced-", fenced), func(t *testing.T) {
			h := newHarness(t, 30)
			mem := h.memory(true)
			h.finish(mem, Config{FlushSize: 10})
			h.group.committed = 20 // [20,30) is now a leftover, uncommitted

			fs := faultstore.New(mem)
			fs.Hold(func(kind faultstore.Kind, key string) bool { return kind == faultstore.Delete })
			var store objstore.Conditional = fs
			if !fenced {
				store = unfenced{fs}
			}
			a := h.start(store, Config{FlushSize: 10})
			if err := fs.WaitHeld(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
			// A is frozen: it does nothing more. The coordinator evicts it a
			// session timeout after its last heartbeat.
			h.clock.advance(DefaultSessionTimeout)
			h.finish(mem, Config{FlushSize: 10}) // B
			fs.Release()                         // A's DELETE lands
			a.lease.lose()
			a.rebalance()
			err := h.landedOnce(mem)
			if fenced && err != nil {
				t.Errorf("A's late delete damaged B's objects: %v", err)
			}
			if !fenced && (err == nil || !strings.Contains(err.Error(), "offset 20 lost")) {
				t.Errorf("without the fence: %v, want offsets 20-29 lost (the test would not see the fault)", err)
			}
		})
	}
}

// TestTwoOwnersAtOnce: a second owner of the partition in a newer
// generation while the first still runs (it has not yet heard that its
// generation ended). The first one's commits are refused, and whatever both
// store, every offset lands once.
func TestTwoOwnersAtOnce(t *testing.T) {
	h := newHarness(t, 40)
	mem := h.memory(false)
	a := h.start(mem, Config{FlushSize: 3})
	if err := h.group.waitCommitted(t.Context(), 9); err != nil {
		t.Fatal(err)
	}
	h.finish(mem, Config{FlushSize: 7}) // B, in the next generation
	h.addRecords(0)
	a.lease.lose()
	a.rebalance()
	<-a.done
	h.checkOnce(mem)
}
