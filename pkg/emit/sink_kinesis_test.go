package emit_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/emit"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
)

// fakeKinesis takes PutRecords requests; an entry fails while failing says so.
type fakeKinesis struct {
	mu      sync.Mutex
	reqs    []*kinesis.PutRecordsInput
	failing func(ktypes.PutRecordsRequestEntry) bool
}

func (f *fakeKinesis) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &kinesis.PutRecordsOutput{}
	kept := *in
	kept.Records = nil
	for i, e := range in.Records {
		if f.failing != nil && f.failing(e) {
			out.Records = append(out.Records, ktypes.PutRecordsResultEntry{ErrorCode: aws.String("ProvisionedThroughputExceededException"), ErrorMessage: aws.String("slow down")})
			continue
		}
		kept.Records = append(kept.Records, e)
		out.Records = append(out.Records, ktypes.PutRecordsResultEntry{ShardId: aws.String("shardId-0"), SequenceNumber: aws.String(fmt.Sprint(len(f.reqs), i))})
	}
	f.reqs = append(f.reqs, &kept)
	return out, nil
}

func (f *fakeKinesis) DescribeStreamSummary(context.Context, *kinesis.DescribeStreamSummaryInput, ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	return &kinesis.DescribeStreamSummaryOutput{}, nil
}

func (f *fakeKinesis) CreateStream(context.Context, *kinesis.CreateStreamInput, ...func(*kinesis.Options)) (*kinesis.CreateStreamOutput, error) {
	return &kinesis.CreateStreamOutput{}, nil
}

// TestKinesisAggregateLimits: aggregated records stay within the 1 MiB of a
// Kinesis record and the 500 records and 5 MiB of a request, and unpack to
// every record of each stream, in order, with its key.
func TestKinesisAggregateLimits(t *testing.T) {
	f := &fakeKinesis{}
	s, err := emit.NewKinesisSink(emit.KinesisOptions{Client: f, Prefix: "p", Aggregate: true})
	if err != nil {
		t.Fatal(err)
	}
	var recs []emit.Record
	for i := range 9000 {
		size := 40 + i%200
		if i%700 == 5 {
			size = 700 << 10 // one to a Kinesis record
		}
		recs = append(recs, emit.Record{Table: clean.Tables[i%3], Key: fmt.Sprint(i), Value: bytes.Repeat([]byte{'a' + byte(i%26)}, size)})
	}
	if fails := s.Write(t.Context(), recs); len(fails) != 0 {
		t.Fatalf("%d failures, first %v", len(fails), fails[0].Err)
	}
	got := map[string][]emit.Record{}
	kinesisRecords := 0
	for _, req := range f.reqs {
		size := 0
		for _, e := range req.Records {
			n := len(e.Data) + len(aws.ToString(e.PartitionKey))
			size += n
			if n > 1<<20 {
				t.Errorf("a Kinesis record of %d bytes", n)
			}
			users, err := kinesisx.Deaggregate(kinesisx.Record{Data: e.Data})
			if err != nil || !kinesisx.IsAggregated(e.Data) {
				t.Fatalf("entry of %s: %v", aws.ToString(req.StreamName), err)
			}
			if users[0].PartitionKey != aws.ToString(e.PartitionKey) {
				t.Errorf("partition key %q, first record's %q", aws.ToString(e.PartitionKey), users[0].PartitionKey)
			}
			for _, u := range users {
				got[aws.ToString(req.StreamName)] = append(got[aws.ToString(req.StreamName)], emit.Record{Key: u.PartitionKey, Value: u.Data})
			}
			kinesisRecords++
		}
		if len(req.Records) > 500 || size > 5<<20 {
			t.Errorf("a request of %d records, %d bytes", len(req.Records), size)
		}
	}
	for _, tb := range clean.Tables {
		var want []emit.Record
		for _, r := range recs {
			if r.Table == tb {
				want = append(want, emit.Record{Key: r.Key, Value: r.Value})
			}
		}
		g := got[s.Stream(tb)]
		slices.SortStableFunc(g, func(a, b emit.Record) int { return cmpKey(a.Key, b.Key) })
		if len(g) != len(want) {
			t.Fatalf("%s: %d records, want %d", tb, len(g), len(want))
		}
		for i := range want {
			if g[i].Key != want[i].Key || !bytes.Equal(g[i].Value, want[i].Value) {
				t.Fatalf("%s: record %d is %s, want %s", tb, i, g[i].Key, want[i].Key)
			}
		}
	}
	if kinesisRecords > 9000/20 {
		t.Errorf("9000 records in %d Kinesis records", kinesisRecords)
	}
}

// cmpKey orders decimal keys as numbers (the requests of a stream run
// concurrently, so their order is not the records').
func cmpKey(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// TestKinesisAggregateFailure: an aggregated record that keeps failing fails
// every record it carries, and those alone.
func TestKinesisAggregateFailure(t *testing.T) {
	f := &fakeKinesis{}
	var bad []string
	f.failing = func(e ktypes.PutRecordsRequestEntry) bool {
		users, _ := kinesisx.Deaggregate(kinesisx.Record{Data: e.Data})
		for _, u := range users {
			if u.PartitionKey == "1234" {
				bad = bad[:0]
				for _, u := range users {
					bad = append(bad, u.PartitionKey)
				}
				return true
			}
		}
		return false
	}
	s, err := emit.NewKinesisSink(emit.KinesisOptions{Client: f, Prefix: "p", Aggregate: true, MaxAttempts: 3, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var recs []emit.Record
	for i := range 3000 {
		recs = append(recs, emit.Record{Table: clean.TablePin, Key: fmt.Sprint(i), Value: bytes.Repeat([]byte("x"), 2000)})
	}
	fails := s.Write(t.Context(), recs)
	var failed []string
	for _, fl := range fails {
		failed = append(failed, recs[fl.Index].Key)
		if !strings.Contains(fl.Err.Error(), "ProvisionedThroughputExceededException") {
			t.Errorf("failure %v", fl.Err)
		}
	}
	if len(bad) < 2 || !slices.Equal(failed, bad) {
		t.Errorf("failed records %v, want those of the failing aggregated record %v", failed, bad)
	}
}
