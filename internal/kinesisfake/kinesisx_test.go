package kinesisfake_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/internal/kinesisfake"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
)

// TestKinesisxThroughReshard reads a stream with kinesisx (ListShards,
// Ready, ShardReader) while it is split and merged, with throttling,
// expired iterators and transient errors injected, and checks that every
// record is read exactly once, each shard in order, and every parent
// before its children.
func TestKinesisxThroughReshard(t *testing.T) {
	for _, emptyEnd := range []bool{false, true} {
		t.Run(fmt.Sprint("EndWithEmptyBatch=", emptyEnd), func(t *testing.T) {
			testKinesisxThroughReshard(t, emptyEnd)
		})
	}
}

func testKinesisxThroughReshard(t *testing.T, emptyEnd bool) {
	clock := kinesisfake.NewClock(t0)
	f, err := kinesisfake.New(kinesisfake.Options{Now: clock.Now, PageSize: 2, EndWithEmptyBatch: emptyEnd})
	if err != nil {
		t.Fatal(err)
	}
	createStream(t, f, "s", 2)

	type put struct{ shard, data string }
	written := map[string]put{} // by sequence number
	n := 0
	putN := func(count int) {
		for range count {
			key := fmt.Sprint("pin-", n)
			n++
			shard, seq, err := f.Put("s", key, []byte(key))
			if err != nil {
				t.Fatal(err)
			}
			written[seq] = put{shard, key}
		}
		clock.Advance(time.Second)
	}

	type read struct{ shard, seq, data string }
	var got []read
	readers := map[string]*kinesisx.ShardReader{}
	finished := map[string]bool{}
	// step reads each ready shard to its tip, or to its end when closed; it
	// reports whether it read or finished anything.
	step := func() bool {
		shards, err := kinesisx.ListShards(t.Context(), f, "s")
		if err != nil {
			t.Fatal(err)
		}
		progress := false
		for _, sh := range kinesisx.Ready(shards, func(id string) bool { return finished[id] }) {
			r := readers[sh.ID]
			if r == nil {
				r, err = kinesisx.NewShardReader(f, kinesisx.ReaderOptions{Stream: "s", ShardID: sh.ID, Limit: 3,
					MinInterval: time.Nanosecond, MaxBackoff: time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				readers[sh.ID] = r
			}
			for {
				b, err := r.Next(t.Context())
				if err != nil {
					t.Fatalf("reading %s: %v", sh.ID, err)
				}
				for _, rec := range b.Records {
					got = append(got, read{sh.ID, rec.Sequence, string(rec.Data)})
					progress = true
				}
				if b.End {
					finished[sh.ID] = true
					progress = true
					break
				}
				if len(b.Records) == 0 {
					break
				}
			}
		}
		return progress
	}
	settle := func() {
		for range 20 {
			if !step() {
				return
			}
		}
		t.Fatal("reading does not settle")
	}

	putN(20)
	settle()
	putN(10)
	lower, upper, err := f.SplitShard("s", shardID(0), "") // 2 and 3
	if err != nil {
		t.Fatal(err)
	}
	f.ExpireIterators() // the readers of 0 and 1 renew theirs after the last record read
	f.FailNth(kinesisfake.OpGetRecords, 2, &types.ProvisionedThroughputExceededException{})
	f.FailNth(kinesisfake.OpGetShardIterator, 1, errors.New("connection reset by peer"))
	putN(20)
	step() // reads 0 to its end and 1 to its tip: the children wait
	putN(5)
	settle()
	child, err := f.MergeShards("s", upper, shardID(1)) // 4
	if err != nil {
		t.Fatal(err)
	}
	f.FailNth(kinesisfake.OpListShards, 2, &types.LimitExceededException{})
	f.FailNth(kinesisfake.OpGetRecords, 1, &types.ExpiredIteratorException{})
	putN(20)
	settle()
	putN(5)
	settle()

	// Exactly once, from the shard it was put in, with its data.
	if len(got) != len(written) {
		t.Errorf("read %d records, %d were written", len(got), len(written))
	}
	pos := map[string]int{}
	first, last := map[string]int{}, map[string]int{}
	for i, r := range got {
		if j, ok := pos[r.seq]; ok {
			t.Errorf("record %s read twice (at %d and %d)", r.seq, j, i)
		}
		pos[r.seq] = i
		if w, ok := written[r.seq]; !ok || w.shard != r.shard || w.data != r.data {
			t.Errorf("read %+v, written %+v", r, w)
		}
		if _, ok := first[r.shard]; !ok {
			first[r.shard] = i
		} else if kinesisx.CompareSequence(got[last[r.shard]].seq, r.seq) >= 0 {
			t.Errorf("shard %s: %s read after %s", r.shard, r.seq, got[last[r.shard]].seq)
		}
		last[r.shard] = i
	}
	// Parents before children.
	shards, err := kinesisx.ListShards(t.Context(), f, "s")
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 5 {
		t.Fatalf("listed %d shards, want 5: %+v", len(shards), shards)
	}
	for _, sh := range shards {
		if _, ok := first[sh.ID]; !ok {
			t.Errorf("nothing read from %s", sh.ID)
		}
		if finished[sh.ID] != sh.Closed {
			t.Errorf("shard %s: closed %v, read to its end %v", sh.ID, sh.Closed, finished[sh.ID])
		}
		for _, p := range sh.Parents {
			if last[p] > first[sh.ID] {
				t.Errorf("child %s read at %d, before the last record of its parent %s at %d", sh.ID, first[sh.ID], p, last[p])
			}
		}
	}
	if want := []string{lower, upper, child}; shards[2].ID != want[0] || shards[3].ID != want[1] || shards[4].ID != want[2] ||
		len(shards[4].Parents) != 2 {
		t.Errorf("shards %+v, want children %v with a merge of two parents last", shards, want)
	}
	// The faults were met and overcome.
	var stats kinesisx.ReaderStats
	for _, r := range readers {
		s := r.Stats()
		stats.Throttled += s.Throttled
		stats.Expired += s.Expired
		stats.Errors += s.Errors
	}
	if stats.Throttled < 1 || stats.Expired < 3 || stats.Errors < 1 {
		t.Errorf("reader stats %+v, want at least 1 throttled, 3 expired (2 by ExpireIterators, 1 injected), 1 error", stats)
	}
}
