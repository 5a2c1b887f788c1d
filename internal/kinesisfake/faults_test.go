package kinesisfake_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/pinpipe/pinpipe/internal/kinesisfake"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
)

var errTransient = errors.New("connection reset by peer")

func TestFaults(t *testing.T) {
	throttle := &types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded for shard")}
	// Each case injects faults, then makes the calls of calls in order; want
	// is the error kind of each ("" for success).
	tests := []struct {
		name   string
		inject func(f *kinesisfake.Fake)
		calls  []string // "records:0" (GetRecords of shard 0), "iterator:1", "list", "describe"
		want   []string
	}{
		{"FailNth on a new fake",
			func(f *kinesisfake.Fake) { f.FailNth(kinesisfake.OpGetRecords, 2, throttle) },
			[]string{"records:0", "records:0", "records:0"},
			[]string{"", "ProvisionedThroughputExceeded", ""}},
		{"FailNth counts from now",
			func(f *kinesisfake.Fake) {
				for range 3 {
					_, _ = f.GetRecords(context.Background(), &kinesis.GetRecordsInput{}) // invalid, but counted
				}
				f.FailNth(kinesisfake.OpGetRecords, 1, &types.ExpiredIteratorException{})
			},
			[]string{"records:0", "records:0"},
			[]string{"ExpiredIterator", ""}},
		{"FailNth counts only its operation",
			func(f *kinesisfake.Fake) { f.FailNth(kinesisfake.OpListShards, 2, errTransient) },
			[]string{"list", "describe", "records:0", "list", "list"},
			[]string{"", "", "", "other: operation error Kinesis: ListShards, connection reset by peer", ""}},
		{"two FailNth",
			func(f *kinesisfake.Fake) {
				f.FailNth(kinesisfake.OpGetRecords, 1, throttle)
				f.FailNth(kinesisfake.OpGetRecords, 3, &types.ExpiredIteratorException{})
			},
			[]string{"records:0", "records:0", "records:0", "records:0"},
			[]string{"ProvisionedThroughputExceeded", "", "ExpiredIterator", ""}},
		{"FailIf on a shard",
			func(f *kinesisfake.Fake) {
				f.FailIf(func(c kinesisfake.Call) bool { return c.Shard == shardID(1) }, throttle)
			},
			[]string{"iterator:0", "iterator:1", "records:0", "records:1", "records:1"},
			[]string{"", "ProvisionedThroughputExceeded", "", "ProvisionedThroughputExceeded", "ProvisionedThroughputExceeded"}},
		{"FailIf on call numbers",
			func(f *kinesisfake.Fake) {
				f.FailIf(func(c kinesisfake.Call) bool { return c.Op == kinesisfake.OpDescribeStreamSummary && c.N%2 == 0 }, &types.LimitExceededException{})
			},
			[]string{"describe", "describe", "describe", "describe"},
			[]string{"", "LimitExceeded", "", "LimitExceeded"}},
		{"FailIf stopped",
			func(f *kinesisfake.Fake) {
				stop := f.FailIf(func(kinesisfake.Call) bool { return true }, errTransient)
				stop()
			},
			[]string{"list", "records:0"},
			[]string{"", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFake(t, kinesisfake.Options{})
			createStream(t, f, "s", 2)
			putTo(t, f, "s", 0, "a")
			its := []*string{trimHorizon(t, f, "s", 0), trimHorizon(t, f, "s", 1)}
			tc.inject(f)
			var got []string
			for _, c := range tc.calls {
				var err error
				switch c {
				case "records:0", "records:1":
					_, err = f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: its[c[len(c)-1]-'0']})
				case "iterator:0", "iterator:1":
					_, err = f.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("s"),
						ShardId: aws.String(shardID(int(c[len(c)-1] - '0'))), ShardIteratorType: types.ShardIteratorTypeLatest})
				case "list":
					_, err = f.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String("s")})
				case "describe":
					_, err = f.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")})
				}
				var oe *smithy.OperationError
				if err != nil && !errors.As(err, &oe) {
					t.Errorf("%s: error %v is not a *smithy.OperationError", c, err)
				}
				got = append(got, errKind(err))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("results %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFailedCallsDoNothing(t *testing.T) {
	f, _ := newFake(t, kinesisfake.Options{})
	createStream(t, f, "s", 1)
	putTo(t, f, "s", 0, "a")
	it := trimHorizon(t, f, "s", 0)
	f.FailNth(kinesisfake.OpGetRecords, 1, errTransient)
	if _, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it}); !errors.Is(err, errTransient) {
		t.Fatalf("GetRecords = %v, want the injected error", err)
	}
	if got, _ := readAll(t, f, it, 10); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after a failed call the iterator read %q, want [a]", got)
	}
}

func TestCalls(t *testing.T) {
	f, _ := newFake(t, kinesisfake.Options{})
	createStream(t, f, "s", 1)
	f.FailNth(kinesisfake.OpListShards, 1, errTransient)
	for range 3 {
		_, _ = f.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String("s")}) // counted, failed or not
	}
	_, _ = f.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{}) // an invalid call counts too
	want := map[kinesisfake.Op]int64{kinesisfake.OpListShards: 3, kinesisfake.OpGetShardIterator: 1, kinesisfake.OpGetRecords: 0, kinesisfake.OpDescribeStreamSummary: 0}
	for op, n := range want {
		if got := f.Calls(op); got != n {
			t.Errorf("Calls(%s) = %d, want %d", op, got, n)
		}
	}
	if err := f.WaitCalls(t.Context(), kinesisfake.OpListShards, 3); err != nil {
		t.Errorf("WaitCalls of calls already made: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := f.WaitCalls(ctx, kinesisfake.OpListShards, 4); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitCalls with a cancelled context = %v, want context.Canceled", err)
	}
	done := make(chan error)
	go func() { done <- f.WaitCalls(t.Context(), kinesisfake.OpGetRecords, 2) }()
	for range 2 {
		_, _ = f.GetRecords(t.Context(), &kinesis.GetRecordsInput{}) // invalid, but counted
	}
	if err := <-done; err != nil {
		t.Errorf("WaitCalls for calls made meanwhile: %v", err)
	}
}

func TestHold(t *testing.T) {
	t.Run("a held call runs on the state at its release", func(t *testing.T) {
		f, _ := newFake(t, kinesisfake.Options{})
		createStream(t, f, "s", 1)
		it := trimHorizon(t, f, "s", 0)
		h := f.Hold(func(c kinesisfake.Call) bool { return c.Op == kinesisfake.OpGetRecords })
		type result struct {
			out *kinesis.GetRecordsOutput
			err error
		}
		done := make(chan result, 1)
		go func() {
			out, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it})
			done <- result{out, err}
		}()
		if err := h.Wait(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		putTo(t, f, "s", 0, "late") // not a GetRecords call: not held
		select {
		case <-done:
			t.Fatal("the held call returned before Release")
		default:
		}
		h.Release()
		r := <-done
		if r.err != nil || len(r.out.Records) != 1 || string(r.out.Records[0].Data) != "late" {
			t.Errorf("released call = %+v, %v; want the record put while it was held", r.out, r.err)
		}
		h.Release() // again: nothing
		if got, _ := readAll(t, f, it, 10); !slices.Equal(got, []string{"late"}) {
			t.Errorf("after Release, calls are not held: read %q", got)
		}
	})
	t.Run("a held call returns when its context ends", func(t *testing.T) {
		f, _ := newFake(t, kinesisfake.Options{})
		createStream(t, f, "s", 1)
		h := f.Hold(func(c kinesisfake.Call) bool { return c.Op == kinesisfake.OpListShards && c.N == 2 })
		defer h.Release()
		if _, err := f.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String("s")}); err != nil {
			t.Fatalf("the first call, not held: %v", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := f.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s")})
			done <- err
		}()
		if err := h.Wait(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("held call after cancel = %v, want context.Canceled", err)
		}
	})
	t.Run("held and failed", func(t *testing.T) {
		f, _ := newFake(t, kinesisfake.Options{})
		createStream(t, f, "s", 1)
		h := f.Hold(func(c kinesisfake.Call) bool { return c.Op == kinesisfake.OpDescribeStreamSummary })
		f.FailNth(kinesisfake.OpDescribeStreamSummary, 1, &types.ProvisionedThroughputExceededException{})
		done := make(chan error, 1)
		go func() {
			_, err := f.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")})
			done <- err
		}()
		if err := h.Wait(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		h.Release()
		if err := <-done; !kinesisx.IsThrottle(err) {
			t.Errorf("held then failed call = %v, want the throttling error", err)
		}
	})
}

// TestConcurrentUse puts, reads, splits and lists at once (run it with
// -race): every record is read once.
func TestConcurrentUse(t *testing.T) {
	f, err := kinesisfake.New(kinesisfake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	createStream(t, f, "s", 4)
	const writers, perWriter = 4, 250
	var wg sync.WaitGroup
	written := make(chan struct{})
	var mu sync.Mutex
	seen := map[string]int{}
	// read reads a shard until its end, or until a call that began after
	// every record was written returns none.
	read := func(it *string) {
		for it != nil {
			final := false
			select {
			case <-written:
				final = true
			default:
			}
			out, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(7)})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			for _, r := range out.Records {
				seen[string(r.Data)]++
			}
			mu.Unlock()
			if len(out.Records) == 0 && final {
				return
			}
			it = out.NextShardIterator
		}
	}
	var readers sync.WaitGroup
	for i := range 4 {
		it := trimHorizon(t, f, "s", i)
		readers.Go(func() { read(it) })
	}
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if _, _, err := f.Put("s", fmt.Sprint(w, "-", i), []byte(fmt.Sprint(w, "-", i))); err != nil {
					t.Error(err)
				}
				if w == 0 && i == perWriter/2 {
					if _, _, err := f.SplitShard("s", shardID(0), ""); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	readers.Go(func() {
		for range 50 {
			if _, err := kinesisx.ListShards(t.Context(), f, "s"); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	close(written)
	readers.Wait()
	for _, i := range []int{4, 5} { // the children of shard 0
		read(trimHorizon(t, f, "s", i))
	}
	if len(seen) != writers*perWriter {
		t.Errorf("read %d distinct records, want %d", len(seen), writers*perWriter)
	}
	for d, n := range seen {
		if n != 1 {
			t.Errorf("record %s read %d times", d, n)
		}
	}
}
