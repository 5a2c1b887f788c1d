package kinesisfake_test

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/internal/kinesisfake"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
)

func bigInt(t *testing.T, s *string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(aws.ToString(s), 10)
	if !ok {
		t.Fatalf("hash key %q is not a decimal number", aws.ToString(s))
	}
	return n
}

func TestCreateStream(t *testing.T) {
	top := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	for _, n := range []int{1, 2, 3, 7} {
		t.Run(fmt.Sprint(n, " shards"), func(t *testing.T) {
			f, _ := newFake(t, kinesisfake.Options{})
			createStream(t, f, "s", n)
			out, err := f.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String("s")})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Shards) != n || out.NextToken != nil {
				t.Fatalf("ListShards gave %d shards, token %v; want %d, none", len(out.Shards), out.NextToken, n)
			}
			next := big.NewInt(0) // the ranges cover the hash-key space in order, without gaps
			for i, s := range out.Shards {
				if got := aws.ToString(s.ShardId); got != shardID(i) {
					t.Errorf("shard %d is %s, want %s", i, got, shardID(i))
				}
				if s.ParentShardId != nil || s.AdjacentParentShardId != nil || s.SequenceNumberRange.EndingSequenceNumber != nil {
					t.Errorf("new shard %s has a parent or an end: %+v", aws.ToString(s.ShardId), s)
				}
				if lo := bigInt(t, s.HashKeyRange.StartingHashKey); lo.Cmp(next) != 0 {
					t.Errorf("shard %d starts at %s, want %s", i, lo, next)
				}
				next = bigInt(t, s.HashKeyRange.EndingHashKey)
				next.Add(next, big.NewInt(1))
			}
			if next.Sub(next, big.NewInt(1)).Cmp(top) != 0 {
				t.Errorf("the last shard ends at %s, want 2^128-1", next)
			}
			d, err := f.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")})
			if err != nil {
				t.Fatal(err)
			}
			sum := d.StreamDescriptionSummary
			if aws.ToInt32(sum.OpenShardCount) != int32(n) || sum.StreamStatus != types.StreamStatusActive ||
				aws.ToInt32(sum.RetentionPeriodHours) != 24 || aws.ToString(sum.StreamName) != "s" ||
				aws.ToString(sum.StreamARN) != "arn:aws:kinesis:us-east-1:000000000000:stream/s" || !aws.ToTime(sum.StreamCreationTimestamp).Equal(t0) {
				t.Errorf("DescribeStreamSummary = %+v", sum)
			}
		})
	}
}

func TestNew(t *testing.T) {
	for _, o := range []kinesisfake.Options{{IteratorTTL: -1}, {Retention: -time.Hour}, {PageSize: -1}} {
		if _, err := kinesisfake.New(o); err == nil {
			t.Errorf("New(%+v) accepted negative options", o)
		}
	}
}

func TestStreamErrors(t *testing.T) {
	f, _ := newFake(t, kinesisfake.Options{})
	createStream(t, f, "s", 1)
	describe := func(in *kinesis.DescribeStreamSummaryInput) error {
		_, err := f.DescribeStreamSummary(t.Context(), in)
		return err
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"existing stream", f.CreateStream("s", 1), "ResourceInUse"},
		{"empty name", f.CreateStream("", 1), "InvalidArgument"},
		{"bad name", f.CreateStream("a b", 1), "InvalidArgument"},
		{"long name", f.CreateStream(strings.Repeat("a", 129), 1), "InvalidArgument"},
		{"no shards", f.CreateStream("t", 0), "InvalidArgument"},
		{"describe by name", describe(&kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")}), ""},
		{"describe by ARN", describe(&kinesis.DescribeStreamSummaryInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s")}), ""},
		{"describe a missing stream", describe(&kinesis.DescribeStreamSummaryInput{StreamName: aws.String("t")}), "ResourceNotFound"},
		{"describe nothing", describe(&kinesis.DescribeStreamSummaryInput{}), "InvalidArgument"},
		{"name and ARN differ", describe(&kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s"), StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/t")}), "InvalidArgument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errKind(tc.err); got != tc.want {
				t.Errorf("error %v is %q, want %q", tc.err, got, tc.want)
			}
		})
	}
	if err := kinesisx.CheckStream(t.Context(), f, "t"); !errors.Is(err, kinesisx.ErrStreamNotFound) {
		t.Errorf("CheckStream of a missing stream = %v, want ErrStreamNotFound", err)
	}
}

func TestPutRouting(t *testing.T) {
	f, _ := newFake(t, kinesisfake.Options{})
	createStream(t, f, "s", 3)
	shards := listShards(t, f, "s")
	var last string
	perShard := map[string][]string{}
	for i := range 60 {
		key := fmt.Sprintf("pin-%d", i)
		data := []byte("data " + key)
		shard, seq, err := f.Put("s", key, data)
		if err != nil {
			t.Fatal(err)
		}
		data[0] = 'X' // the fake keeps a copy
		sum := md5.Sum([]byte(key))
		h := new(big.Int).SetBytes(sum[:])
		r := shards[shard].HashKeyRange
		if h.Cmp(bigInt(t, r.StartingHashKey)) < 0 || h.Cmp(bigInt(t, r.EndingHashKey)) > 0 {
			t.Errorf("Put(%q) went to %s, whose range does not hold its MD5 %s", key, shard, h)
		}
		if last != "" && kinesisx.CompareSequence(seq, last) <= 0 {
			t.Errorf("sequence %s is not above the previous one %s", seq, last)
		}
		last = seq
		perShard[shard] = append(perShard[shard], "data "+key)
	}
	if len(perShard) != 3 {
		t.Errorf("60 keys went to %d shards, want 3", len(perShard))
	}
	for i := range 3 {
		got, _ := readAll(t, f, trimHorizon(t, f, "s", i), 10000)
		if want := perShard[shardID(i)]; !slices.Equal(got, want) {
			t.Errorf("shard %d holds %q, want %q", i, got, want)
		}
	}
}

func TestPutErrors(t *testing.T) {
	f, _ := newFake(t, kinesisfake.Options{})
	createStream(t, f, "s", 2)
	if _, _, err := f.SplitShard("s", shardID(1), ""); err != nil {
		t.Fatal(err)
	}
	put := func(stream, key string, data []byte) error {
		_, _, err := f.Put(stream, key, data)
		return err
	}
	putTo := func(shard string) error {
		_, err := f.PutToShard("s", shard, "k", nil)
		return err
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"missing stream", put("t", "k", nil), "ResourceNotFound"},
		{"empty partition key", put("s", "", nil), "InvalidArgument"},
		{"256-character partition key", put("s", strings.Repeat("é", 256), nil), ""},
		{"257-character partition key", put("s", strings.Repeat("k", 257), nil), "InvalidArgument"},
		{"1 MiB record", put("s", "k", make([]byte, 1<<20-1)), ""},
		{"record over 1 MiB", put("s", "k", make([]byte, 1<<20)), "InvalidArgument"},
		{"to an open shard", putTo(shardID(0)), ""},
		{"to a closed shard", putTo(shardID(1)), "InvalidArgument"},
		{"to a missing shard", putTo(shardID(9)), "ResourceNotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errKind(tc.err); got != tc.want {
				t.Errorf("error %v is %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestShardIterators(t *testing.T) {
	// Shard 0 holds a (t0), b (t0+1s), c (t0+2s); shard 1 holds x. The
	// iterator is taken at t0+3s, then d is put in shard 0: each case reads
	// shard 0 from its iterator to the tip.
	type seqs map[string]string
	at := func(typ types.ShardIteratorType, rec string) func(seqs) *kinesis.GetShardIteratorInput {
		return func(s seqs) *kinesis.GetShardIteratorInput {
			in := &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String(shardID(0)), ShardIteratorType: typ}
			if rec != "" {
				in.StartingSequenceNumber = aws.String(s[rec])
			}
			return in
		}
	}
	atTime := func(ts time.Time) func(seqs) *kinesis.GetShardIteratorInput {
		return func(seqs) *kinesis.GetShardIteratorInput {
			return &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String(shardID(0)),
				ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(ts)}
		}
	}
	with := func(base func(seqs) *kinesis.GetShardIteratorInput, edit func(*kinesis.GetShardIteratorInput, seqs)) func(seqs) *kinesis.GetShardIteratorInput {
		return func(s seqs) *kinesis.GetShardIteratorInput {
			in := base(s)
			edit(in, s)
			return in
		}
	}
	tests := []struct {
		name    string
		in      func(seqs) *kinesis.GetShardIteratorInput
		want    []string
		wantErr string
	}{
		{"TRIM_HORIZON", at(types.ShardIteratorTypeTrimHorizon, ""), []string{"a", "b", "c", "d"}, ""},
		{"LATEST", at(types.ShardIteratorTypeLatest, ""), []string{"d"}, ""},
		{"AT_SEQUENCE_NUMBER", at(types.ShardIteratorTypeAtSequenceNumber, "b"), []string{"b", "c", "d"}, ""},
		{"AT_SEQUENCE_NUMBER of the first", at(types.ShardIteratorTypeAtSequenceNumber, "a"), []string{"a", "b", "c", "d"}, ""},
		{"AFTER_SEQUENCE_NUMBER", at(types.ShardIteratorTypeAfterSequenceNumber, "b"), []string{"c", "d"}, ""},
		{"AFTER_SEQUENCE_NUMBER of the last", at(types.ShardIteratorTypeAfterSequenceNumber, "c"), []string{"d"}, ""},
		{"AT_TIMESTAMP of a record", atTime(t0.Add(time.Second)), []string{"b", "c", "d"}, ""},
		{"AT_TIMESTAMP between records", atTime(t0.Add(1500 * time.Millisecond)), []string{"c", "d"}, ""},
		{"AT_TIMESTAMP before every record", atTime(t0.Add(-time.Hour)), []string{"a", "b", "c", "d"}, ""},
		{"AT_TIMESTAMP now", atTime(t0.Add(3 * time.Second)), []string{"d"}, ""},
		{"by stream ARN", with(at(types.ShardIteratorTypeTrimHorizon, ""), func(in *kinesis.GetShardIteratorInput, _ seqs) {
			in.StreamName, in.StreamARN = nil, aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s")
		}), []string{"a", "b", "c", "d"}, ""},

		{"sequence number of another shard", at(types.ShardIteratorTypeAtSequenceNumber, "x"), nil, "InvalidArgument"},
		{"malformed sequence number", with(at(types.ShardIteratorTypeAfterSequenceNumber, "a"), func(in *kinesis.GetShardIteratorInput, _ seqs) {
			in.StartingSequenceNumber = aws.String("123")
		}), nil, "InvalidArgument"},
		{"AT_SEQUENCE_NUMBER without one", at(types.ShardIteratorTypeAtSequenceNumber, ""), nil, "InvalidArgument"},
		{"TRIM_HORIZON with a sequence number", at(types.ShardIteratorTypeTrimHorizon, "a"), nil, "InvalidArgument"},
		{"AT_TIMESTAMP in the future", atTime(t0.Add(time.Hour)), nil, "InvalidArgument"},
		{"AT_TIMESTAMP without one", at(types.ShardIteratorTypeAtTimestamp, ""), nil, "InvalidArgument"},
		{"unknown type", at("BOGUS", ""), nil, "InvalidArgument"},
		{"missing shard", with(at(types.ShardIteratorTypeTrimHorizon, ""), func(in *kinesis.GetShardIteratorInput, _ seqs) {
			in.ShardId = aws.String(shardID(7))
		}), nil, "ResourceNotFound"},
		{"missing stream", with(at(types.ShardIteratorTypeTrimHorizon, ""), func(in *kinesis.GetShardIteratorInput, _ seqs) {
			in.StreamName = aws.String("t")
		}), nil, "ResourceNotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, clock := newFake(t, kinesisfake.Options{})
			createStream(t, f, "s", 2)
			s := seqs{"x": putTo(t, f, "s", 1, "x")}
			for _, d := range []string{"a", "b", "c"} {
				s[d] = putTo(t, f, "s", 0, d)
				clock.Advance(time.Second)
			}
			out, err := f.GetShardIterator(t.Context(), tc.in(s))
			if got := errKind(err); got != tc.wantErr {
				t.Fatalf("GetShardIterator error %v is %q, want %q", err, got, tc.wantErr)
			}
			if err != nil {
				return
			}
			putTo(t, f, "s", 0, "d")
			got, ended := readAll(t, f, out.ShardIterator, 1)
			if !slices.Equal(got, tc.want) || ended {
				t.Errorf("read %q (ended %v), want %q", got, ended, tc.want)
			}
		})
	}
}

func TestGetRecords(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, f *kinesisfake.Fake, clock *kinesisfake.Clock)
	}{
		{"Limit cuts the batches", func(t *testing.T, f *kinesisfake.Fake, _ *kinesisfake.Clock) {
			for i := range 5 {
				putTo(t, f, "s", 0, fmt.Sprint(i))
			}
			it := trimHorizon(t, f, "s", 0)
			var sizes []int
			for range 4 {
				out, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(2)})
				if err != nil {
					t.Fatal(err)
				}
				if out.NextShardIterator == nil {
					t.Fatal("an open shard gave a nil NextShardIterator")
				}
				sizes = append(sizes, len(out.Records))
				it = out.NextShardIterator
			}
			if want := []int{2, 2, 1, 0}; !slices.Equal(sizes, want) {
				t.Errorf("batches of %v records, want %v", sizes, want)
			}
		}},
		{"MillisBehindLatest is the age of the oldest unread record", func(t *testing.T, f *kinesisfake.Fake, clock *kinesisfake.Clock) {
			putTo(t, f, "s", 0, "a")
			clock.Advance(time.Second)
			putTo(t, f, "s", 0, "b")
			clock.Advance(59 * time.Second)
			it := trimHorizon(t, f, "s", 0)
			var behind []int64
			for range 3 {
				out, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(1)})
				if err != nil {
					t.Fatal(err)
				}
				behind = append(behind, aws.ToInt64(out.MillisBehindLatest))
				it = out.NextShardIterator
			}
			if want := []int64{59000, 0, 0}; !slices.Equal(behind, want) {
				t.Errorf("MillisBehindLatest %v, want %v", behind, want)
			}
		}},
		{"an iterator can be used again", func(t *testing.T, f *kinesisfake.Fake, _ *kinesisfake.Clock) {
			putTo(t, f, "s", 0, "a")
			it := trimHorizon(t, f, "s", 0)
			first, _ := readAll(t, f, it, 10)
			putTo(t, f, "s", 0, "b")
			again, _ := readAll(t, f, it, 10)
			if !slices.Equal(first, []string{"a"}) || !slices.Equal(again, []string{"a", "b"}) {
				t.Errorf("read %q then %q, want [a] then [a b]", first, again)
			}
		}},
		{"records are copies", func(t *testing.T, f *kinesisfake.Fake, _ *kinesisfake.Clock) {
			putTo(t, f, "s", 0, "a")
			it := trimHorizon(t, f, "s", 0)
			out, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it})
			if err != nil {
				t.Fatal(err)
			}
			r := out.Records[0]
			r.Data[0] = 'X'
			if got, _ := readAll(t, f, it, 10); !slices.Equal(got, []string{"a"}) {
				t.Errorf("after changing a returned record the shard holds %q", got)
			}
			if aws.ToString(r.PartitionKey) != "a" || !aws.ToTime(r.ApproximateArrivalTimestamp).Equal(t0) {
				t.Errorf("record %+v, want partition key a, arrival %v", r, t0)
			}
		}},
		{"at most 10 MiB a call", func(t *testing.T, f *kinesisfake.Fake, _ *kinesisfake.Clock) {
			big := bytes.Repeat([]byte{'x'}, 1<<20-1) // with its 1-byte key: 1 MiB
			for range 11 {
				if _, err := f.PutToShard("s", shardID(0), "k", big); err != nil {
					t.Fatal(err)
				}
			}
			out, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: trimHorizon(t, f, "s", 0)})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Records) != 10 {
				t.Errorf("a call returned %d records of 1 MiB, want 10", len(out.Records))
			}
		}},
		{"arrival times never go back", func(t *testing.T, f *kinesisfake.Fake, clock *kinesisfake.Clock) {
			clock.Advance(time.Second + 1500*time.Microsecond)
			putTo(t, f, "s", 0, "a")
			clock.Advance(-time.Second)
			putTo(t, f, "s", 0, "b")
			out, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: trimHorizon(t, f, "s", 0)})
			if err != nil {
				t.Fatal(err)
			}
			want := t0.Add(1001 * time.Millisecond) // millisecond precision
			for _, r := range out.Records {
				if got := aws.ToTime(r.ApproximateArrivalTimestamp); !got.Equal(want) {
					t.Errorf("record %s arrived at %v, want %v", r.Data, got, want)
				}
			}
		}},
		{"bad requests", func(t *testing.T, f *kinesisfake.Fake, _ *kinesisfake.Clock) {
			it := trimHorizon(t, f, "s", 0)
			for _, in := range []*kinesis.GetRecordsInput{
				{ShardIterator: it, Limit: aws.Int32(0)},
				{ShardIterator: it, Limit: aws.Int32(10001)},
				{ShardIterator: aws.String("garbage")},
				{ShardIterator: aws.String(strings.Repeat("A", 40))},
				{},
			} {
				if _, err := f.GetRecords(t.Context(), in); errKind(err) != "InvalidArgument" {
					t.Errorf("GetRecords(%+v) = %v, want InvalidArgumentException", in, err)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, clock := newFake(t, kinesisfake.Options{})
			createStream(t, f, "s", 1)
			tc.run(t, f, clock)
		})
	}
}

func TestResharding(t *testing.T) {
	half := new(big.Int).Lsh(big.NewInt(1), 127)
	top := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	t.Run("split", func(t *testing.T) {
		for _, emptyEnd := range []bool{false, true} {
			t.Run(fmt.Sprint("EndWithEmptyBatch=", emptyEnd), func(t *testing.T) {
				f, _ := newFake(t, kinesisfake.Options{EndWithEmptyBatch: emptyEnd})
				createStream(t, f, "s", 1)
				putTo(t, f, "s", 0, "a")
				lastSeq := putTo(t, f, "s", 0, "b")
				it := trimHorizon(t, f, "s", 0)
				lower, upper, err := f.SplitShard("s", shardID(0), "")
				if err != nil {
					t.Fatal(err)
				}
				if lower != shardID(1) || upper != shardID(2) {
					t.Fatalf("children %s, %s; want shards 1 and 2", lower, upper)
				}
				shards := listShards(t, f, "s")
				parent := shards[shardID(0)]
				end := aws.ToString(parent.SequenceNumberRange.EndingSequenceNumber)
				if end == "" || kinesisx.CompareSequence(end, lastSeq) <= 0 {
					t.Errorf("parent's EndingSequenceNumber %q is not above its last record %s", end, lastSeq)
				}
				ranges := [][2]*big.Int{{big.NewInt(0), new(big.Int).Sub(half, big.NewInt(1))}, {half, top}}
				for i, id := range []string{lower, upper} {
					c := shards[id]
					if aws.ToString(c.ParentShardId) != shardID(0) || c.AdjacentParentShardId != nil || c.SequenceNumberRange.EndingSequenceNumber != nil {
						t.Errorf("child %s = %+v, want parent shard 0, no adjacent parent, open", id, c)
					}
					if lo, hi := bigInt(t, c.HashKeyRange.StartingHashKey), bigInt(t, c.HashKeyRange.EndingHashKey); lo.Cmp(ranges[i][0]) != 0 || hi.Cmp(ranges[i][1]) != 0 {
						t.Errorf("child %s covers [%s, %s], want [%s, %s]", id, lo, hi, ranges[i][0], ranges[i][1])
					}
					if start := aws.ToString(c.SequenceNumberRange.StartingSequenceNumber); kinesisx.CompareSequence(start, end) <= 0 {
						t.Errorf("child %s starts at %s, not after its parent's end %s", id, start, end)
					}
				}
				// The parent is read to its end: nil NextShardIterator and the children.
				var got []string
				var calls int
				var children []types.ChildShard
				for it != nil {
					out, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(1)})
					if err != nil {
						t.Fatal(err)
					}
					calls++
					for _, r := range out.Records {
						got = append(got, string(r.Data))
					}
					it, children = out.NextShardIterator, out.ChildShards
				}
				wantCalls := map[bool]int{false: 2, true: 3}[emptyEnd]
				if !slices.Equal(got, []string{"a", "b"}) || calls != wantCalls {
					t.Errorf("read %q in %d calls, want [a b] in %d", got, calls, wantCalls)
				}
				if len(children) != 2 || aws.ToString(children[0].ShardId) != lower || aws.ToString(children[1].ShardId) != upper ||
					!slices.Equal(children[0].ParentShards, []string{shardID(0)}) {
					t.Errorf("ChildShards at the end = %+v", children)
				}
				// New records go to the children, by hash key.
				for i := range 20 {
					shard, _, err := f.Put("s", fmt.Sprint("k", i), nil)
					if err != nil {
						t.Fatal(err)
					}
					if shard != lower && shard != upper {
						t.Errorf("a record went to %s after the split", shard)
					}
				}
				// LATEST on a closed shard is at its end at once.
				latest := iterator(t, f, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String(shardID(0)), ShardIteratorType: types.ShardIteratorTypeLatest})
				if got, ended := readAll(t, f, latest, 10); len(got) != 0 || !ended {
					t.Errorf("LATEST of a closed shard read %q, ended %v; want nothing, ended", got, ended)
				}
			})
		}
	})
	t.Run("merge", func(t *testing.T) {
		for _, order := range [][2]int{{0, 1}, {1, 0}} {
			t.Run(fmt.Sprint(order), func(t *testing.T) {
				f, _ := newFake(t, kinesisfake.Options{})
				createStream(t, f, "s", 2)
				putTo(t, f, "s", order[0], "p")
				putTo(t, f, "s", order[1], "q")
				child, err := f.MergeShards("s", shardID(order[0]), shardID(order[1]))
				if err != nil {
					t.Fatal(err)
				}
				shards := listShards(t, f, "s")
				c := shards[child]
				if child != shardID(2) || aws.ToString(c.ParentShardId) != shardID(order[0]) || aws.ToString(c.AdjacentParentShardId) != shardID(order[1]) {
					t.Errorf("child %s = %+v, want shard 2 with parent %d and adjacent parent %d", child, c, order[0], order[1])
				}
				if lo, hi := bigInt(t, c.HashKeyRange.StartingHashKey), bigInt(t, c.HashKeyRange.EndingHashKey); lo.Sign() != 0 || hi.Cmp(top) != 0 {
					t.Errorf("child covers [%s, %s], want the whole space", lo, hi)
				}
				for i, want := range []string{"p", "q"} {
					if shards[shardID(order[i])].SequenceNumberRange.EndingSequenceNumber == nil {
						t.Errorf("parent %d is still open", order[i])
					}
					out, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: trimHorizon(t, f, "s", order[i])})
					if err != nil {
						t.Fatal(err)
					}
					if len(out.Records) != 1 || string(out.Records[0].Data) != want || out.NextShardIterator != nil {
						t.Errorf("parent %d: %d records, next %v; want [%s] and its end", order[i], len(out.Records), out.NextShardIterator, want)
					}
					if cs := out.ChildShards; len(cs) != 1 || aws.ToString(cs[0].ShardId) != child || !slices.Equal(cs[0].ParentShards, []string{shardID(order[0]), shardID(order[1])}) {
						t.Errorf("parent %d: ChildShards %+v", order[i], cs)
					}
				}
				if shard, _, err := f.Put("s", "k", nil); err != nil || shard != child {
					t.Errorf("Put after the merge went to %s (%v), want %s", shard, err, child)
				}
			})
		}
	})
	t.Run("errors", func(t *testing.T) {
		f, _ := newFake(t, kinesisfake.Options{})
		createStream(t, f, "s", 4) // shards 0-3; 0 is split into 4, 5
		if _, _, err := f.SplitShard("s", shardID(0), ""); err != nil {
			t.Fatal(err)
		}
		shards := listShards(t, f, "s")
		lo1 := bigInt(t, shards[shardID(1)].HashKeyRange.StartingHashKey)
		hi1 := bigInt(t, shards[shardID(1)].HashKeyRange.EndingHashKey)
		split := func(shard, key string) error {
			_, _, err := f.SplitShard("s", shard, key)
			return err
		}
		merge := func(a, b string) error {
			_, err := f.MergeShards("s", a, b)
			return err
		}
		tests := []struct {
			name string
			err  error
			want string
		}{
			{"split a closed shard", split(shardID(0), ""), "ResourceInUse"},
			{"split a missing shard", split(shardID(9), ""), "ResourceNotFound"},
			{"split at start+1", split(shardID(1), new(big.Int).Add(lo1, big.NewInt(1)).String()), "InvalidArgument"},
			{"split at the end", split(shardID(1), hi1.String()), "InvalidArgument"},
			{"split at a non-number", split(shardID(1), "12a"), "InvalidArgument"},
			{"split in a missing stream", func() error { _, _, err := f.SplitShard("t", shardID(1), ""); return err }(), "ResourceNotFound"},
			{"merge shards that are not adjacent", merge(shardID(1), shardID(3)), "InvalidArgument"},
			{"merge a shard with itself", merge(shardID(1), shardID(1)), "InvalidArgument"},
			{"merge a closed shard", merge(shardID(0), shardID(1)), "ResourceInUse"},
			{"merge a missing shard", merge(shardID(1), shardID(9)), "ResourceNotFound"},
			{"split at start+2", split(shardID(1), new(big.Int).Add(lo1, big.NewInt(2)).String()), ""},
			{"merge a split's children", merge(shardID(4), shardID(5)), ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := errKind(tc.err); got != tc.want {
					t.Errorf("error %v is %q, want %q", tc.err, got, tc.want)
				}
			})
		}
		d, err := f.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")})
		if err != nil {
			t.Fatal(err)
		}
		// Open: 2, 3, the two children of 1 and the child of 4 and 5.
		if n := aws.ToInt32(d.StreamDescriptionSummary.OpenShardCount); n != 5 {
			t.Errorf("OpenShardCount = %d, want 5", n)
		}
	})
}

func TestListShards(t *testing.T) {
	ids := func(shards []types.Shard) []string {
		var out []string
		for _, s := range shards {
			out = append(out, aws.ToString(s.ShardId))
		}
		return out
	}
	// Stream s has shards 0-4; 0 is split into 5 and 6.
	setup := func(t *testing.T, pageSize int) (*kinesisfake.Fake, *kinesisfake.Clock) {
		f, clock := newFake(t, kinesisfake.Options{PageSize: pageSize})
		createStream(t, f, "s", 5)
		if _, _, err := f.SplitShard("s", shardID(0), ""); err != nil {
			t.Fatal(err)
		}
		return f, clock
	}
	all := []string{shardID(0), shardID(1), shardID(2), shardID(3), shardID(4), shardID(5), shardID(6)}
	tests := []struct {
		name     string
		pageSize int
		in       *kinesis.ListShardsInput
		want     [][]string // the pages
	}{
		{"one page", 0, &kinesis.ListShardsInput{StreamName: aws.String("s")}, [][]string{all}},
		{"pages of 3", 3, &kinesis.ListShardsInput{StreamName: aws.String("s")}, [][]string{all[:3], all[3:6], all[6:]}},
		{"MaxResults below the page size", 3, &kinesis.ListShardsInput{StreamName: aws.String("s"), MaxResults: aws.Int32(2)}, [][]string{all[:2], all[2:4], all[4:6], all[6:]}},
		{"MaxResults above the page size", 4, &kinesis.ListShardsInput{StreamName: aws.String("s"), MaxResults: aws.Int32(100)}, [][]string{all[:4], all[4:]}},
		{"a page size that divides the count", 7, &kinesis.ListShardsInput{StreamName: aws.String("s")}, [][]string{all}},
		{"ExclusiveStartShardId", 0, &kinesis.ListShardsInput{StreamName: aws.String("s"), ExclusiveStartShardId: aws.String(shardID(3))}, [][]string{all[4:]}},
		{"AFTER_SHARD_ID", 2, &kinesis.ListShardsInput{StreamName: aws.String("s"), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String(shardID(2))}}, [][]string{all[3:5], all[5:]}},
		{"AT_LATEST: open shards", 3, &kinesis.ListShardsInput{StreamName: aws.String("s"), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}}, [][]string{all[1:4], all[4:]}},
		{"FROM_TRIM_HORIZON", 0, &kinesis.ListShardsInput{StreamName: aws.String("s"), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeFromTrimHorizon}}, [][]string{all}},
		{"by stream ARN", 0, &kinesis.ListShardsInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s")}, [][]string{all}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := setup(t, tc.pageSize)
			in := tc.in
			var got [][]string
			for range 10 {
				out, err := f.ListShards(t.Context(), in)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids(out.Shards))
				if out.NextToken == nil {
					break
				}
				in = &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: tc.in.MaxResults}
			}
			if !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Errorf("pages %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("kinesisx.ListShards follows the pages", func(t *testing.T) {
		f, _ := setup(t, 1)
		shards, err := kinesisx.ListShards(t.Context(), f, "s")
		if err != nil {
			t.Fatal(err)
		}
		want := []kinesisx.Shard{{ID: shardID(0), Closed: true}, {ID: shardID(1)}, {ID: shardID(2)}, {ID: shardID(3)}, {ID: shardID(4)},
			{ID: shardID(5), Parents: []string{shardID(0)}}, {ID: shardID(6), Parents: []string{shardID(0)}}}
		if !slices.EqualFunc(shards, want, func(a, b kinesisx.Shard) bool {
			return a.ID == b.ID && a.Closed == b.Closed && slices.Equal(a.Parents, b.Parents)
		}) {
			t.Errorf("kinesisx.ListShards = %+v, want %+v", shards, want)
		}
		if n := f.Calls(kinesisfake.OpListShards); n != 7 {
			t.Errorf("%d ListShards calls for 7 pages of 1", n)
		}
	})

	t.Run("errors", func(t *testing.T) {
		f, clock := setup(t, 2)
		first, err := f.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String("s")})
		if err != nil {
			t.Fatal(err)
		}
		list := func(in *kinesis.ListShardsInput) error {
			_, err := f.ListShards(t.Context(), in)
			return err
		}
		token := first.NextToken
		tests := []struct {
			name string
			in   *kinesis.ListShardsInput
			want string
		}{
			{"no stream", &kinesis.ListShardsInput{}, "InvalidArgument"},
			{"missing stream", &kinesis.ListShardsInput{StreamName: aws.String("t")}, "ResourceNotFound"},
			{"NextToken and StreamName", &kinesis.ListShardsInput{StreamName: aws.String("s"), NextToken: token}, "InvalidArgument"},
			{"NextToken and ExclusiveStartShardId", &kinesis.ListShardsInput{NextToken: token, ExclusiveStartShardId: aws.String(shardID(0))}, "InvalidArgument"},
			{"malformed NextToken", &kinesis.ListShardsInput{NextToken: aws.String("garbage")}, "InvalidArgument"},
			{"MaxResults 0", &kinesis.ListShardsInput{StreamName: aws.String("s"), MaxResults: aws.Int32(0)}, "InvalidArgument"},
			{"MaxResults 10001", &kinesis.ListShardsInput{StreamName: aws.String("s"), MaxResults: aws.Int32(10001)}, "InvalidArgument"},
			{"AFTER_SHARD_ID without a shard", &kinesis.ListShardsInput{StreamName: aws.String("s"), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAfterShardId}}, "InvalidArgument"},
			{"unsupported filter", &kinesis.ListShardsInput{StreamName: aws.String("s"), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp}}, "InvalidArgument"},
			{"NextToken at 300 s", &kinesis.ListShardsInput{NextToken: token}, ""},
		}
		clock.Advance(300 * time.Second)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if err := list(tc.in); errKind(err) != tc.want {
					t.Errorf("ListShards error %v is %q, want %q", err, errKind(err), tc.want)
				}
			})
		}
		clock.Advance(time.Millisecond)
		if err := list(&kinesis.ListShardsInput{NextToken: token}); errKind(err) != "ExpiredNextToken" {
			t.Errorf("a NextToken used after 300 s gave %v, want ExpiredNextTokenException", err)
		}
	})
}

func TestIteratorExpiry(t *testing.T) {
	getRecords := func(t *testing.T, f *kinesisfake.Fake, it *string) error {
		_, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it})
		return err
	}
	tests := []struct {
		name string
		ttl  time.Duration
		run  func(t *testing.T, f *kinesisfake.Fake, clock *kinesisfake.Clock)
	}{
		{"valid for 5 minutes", 0, func(t *testing.T, f *kinesisfake.Fake, clock *kinesisfake.Clock) {
			it := trimHorizon(t, f, "s", 0)
			clock.Advance(5 * time.Minute)
			if err := getRecords(t, f, it); err != nil {
				t.Errorf("an iterator 5 minutes old: %v", err)
			}
			clock.Advance(time.Millisecond)
			err := getRecords(t, f, it)
			if !kinesisx.IsExpiredIterator(err) {
				t.Errorf("an iterator older than 5 minutes: %v, want ExpiredIteratorException", err)
			}
		}},
		{"Options.IteratorTTL", time.Minute, func(t *testing.T, f *kinesisfake.Fake, clock *kinesisfake.Clock) {
			it := trimHorizon(t, f, "s", 0)
			clock.Advance(time.Minute + time.Millisecond)
			if err := getRecords(t, f, it); !kinesisx.IsExpiredIterator(err) {
				t.Errorf("an iterator older than the TTL: %v, want ExpiredIteratorException", err)
			}
		}},
		{"NextShardIterator is fresh", 0, func(t *testing.T, f *kinesisfake.Fake, clock *kinesisfake.Clock) {
			it := trimHorizon(t, f, "s", 0)
			for range 3 {
				clock.Advance(4 * time.Minute)
				out, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it})
				if err != nil {
					t.Fatalf("following NextShardIterator every 4 minutes: %v", err)
				}
				it = out.NextShardIterator
			}
		}},
		{"ExpireIterators", 0, func(t *testing.T, f *kinesisfake.Fake, _ *kinesisfake.Clock) {
			old := trimHorizon(t, f, "s", 0)
			out, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: old})
			if err != nil {
				t.Fatal(err)
			}
			f.ExpireIterators()
			for _, it := range []*string{old, out.NextShardIterator} {
				if err := getRecords(t, f, it); !kinesisx.IsExpiredIterator(err) {
					t.Errorf("an iterator from before ExpireIterators: %v, want ExpiredIteratorException", err)
				}
			}
			if got, _ := readAll(t, f, trimHorizon(t, f, "s", 0), 1); !slices.Equal(got, []string{"a", "b"}) {
				t.Errorf("a new iterator read %q, want [a b]", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, clock := newFake(t, kinesisfake.Options{IteratorTTL: tc.ttl})
			createStream(t, f, "s", 1)
			putTo(t, f, "s", 0, "a")
			putTo(t, f, "s", 0, "b")
			tc.run(t, f, clock)
		})
	}
}

func TestTrimming(t *testing.T) {
	t.Run("records", func(t *testing.T) {
		f, clock := newFake(t, kinesisfake.Options{Retention: time.Hour})
		createStream(t, f, "s", 1)
		seqA := putTo(t, f, "s", 0, "a") // t0
		clock.Advance(30 * time.Minute)
		putTo(t, f, "s", 0, "b") // t0+30m
		clock.Advance(29 * time.Minute)
		old := trimHorizon(t, f, "s", 0) // at a, t0+59m
		clock.Advance(time.Minute)       // t0+1h: a is exactly as old as the retention
		if got, _ := readAll(t, f, trimHorizon(t, f, "s", 0), 10); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("at the retention's end, TRIM_HORIZON read %q, want [a b]", got)
		}
		clock.Advance(time.Millisecond)
		iters := map[string]*string{
			"TRIM_HORIZON":                    trimHorizon(t, f, "s", 0),
			"an iterator at a trimmed record": old,
			"AT_SEQUENCE_NUMBER of a trimmed record": iterator(t, f, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String(shardID(0)),
				ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(seqA)}),
			"AT_TIMESTAMP before the trim horizon": iterator(t, f, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String(shardID(0)),
				ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(t0)}),
		}
		for name, it := range iters {
			if got, _ := readAll(t, f, it, 10); !slices.Equal(got, []string{"b"}) {
				t.Errorf("%s read %q after a's retention, want [b]", name, got)
			}
		}
		d, err := f.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")})
		if err != nil {
			t.Fatal(err)
		}
		if h := aws.ToInt32(d.StreamDescriptionSummary.RetentionPeriodHours); h != 1 {
			t.Errorf("RetentionPeriodHours = %d, want 1", h)
		}
	})
	t.Run("closed shards", func(t *testing.T) {
		f, clock := newFake(t, kinesisfake.Options{Retention: time.Hour})
		createStream(t, f, "s", 1)
		putTo(t, f, "s", 0, "a")
		clock.Advance(10 * time.Minute)
		if _, _, err := f.SplitShard("s", shardID(0), ""); err != nil { // closed at t0+10m
			t.Fatal(err)
		}
		clock.Advance(time.Hour) // a is gone, the parent is still listed
		if _, ok := listShards(t, f, "s")[shardID(0)]; !ok {
			t.Fatal("the parent is no longer listed within the retention of its closing")
		}
		if got, ended := readAll(t, f, trimHorizon(t, f, "s", 0), 10); len(got) != 0 || !ended {
			t.Errorf("the parent past its records' retention read %q, ended %v; want nothing, ended", got, ended)
		}
		clock.Advance(time.Millisecond)
		shards, err := kinesisx.ListShards(t.Context(), f, "s")
		if err != nil {
			t.Fatal(err)
		}
		if len(shards) != 2 || shards[0].ID != shardID(1) || shards[1].ID != shardID(2) {
			t.Errorf("listed %+v, want the two children only", shards)
		}
		if ready := kinesisx.Ready(shards, func(string) bool { return false }); len(ready) != 2 {
			t.Errorf("Ready = %+v, want both children (their parent expired)", ready)
		}
		_, err = f.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String(shardID(0)),
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if errKind(err) != "ResourceNotFound" {
			t.Errorf("GetShardIterator of an expired shard: %v, want ResourceNotFoundException", err)
		}
	})
}
