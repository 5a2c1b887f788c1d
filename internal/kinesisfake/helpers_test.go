package kinesisfake_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/internal/kinesisfake"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// newFake returns a fake on a manual clock at t0 (unless o has a clock).
func newFake(t *testing.T, o kinesisfake.Options) (*kinesisfake.Fake, *kinesisfake.Clock) {
	t.Helper()
	clock := kinesisfake.NewClock(t0)
	if o.Now == nil {
		o.Now = clock.Now
	}
	f, err := kinesisfake.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return f, clock
}

func createStream(t *testing.T, f *kinesisfake.Fake, name string, shards int) {
	t.Helper()
	if err := f.CreateStream(name, shards); err != nil {
		t.Fatal(err)
	}
}

// putTo appends a record whose partition key and data are data to shard i
// of stream and returns its sequence number.
func putTo(t *testing.T, f *kinesisfake.Fake, stream string, i int, data string) string {
	t.Helper()
	seq, err := f.PutToShard(stream, shardID(i), data, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func shardID(i int) string { return fmt.Sprintf("shardId-%012d", i) }

func iterator(t *testing.T, f *kinesisfake.Fake, in *kinesis.GetShardIteratorInput) *string {
	t.Helper()
	out, err := f.GetShardIterator(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if out.ShardIterator == nil {
		t.Fatal("GetShardIterator returned no iterator")
	}
	return out.ShardIterator
}

func trimHorizon(t *testing.T, f *kinesisfake.Fake, stream string, i int) *string {
	t.Helper()
	return iterator(t, f, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shardID(i)),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
}

// readAll calls GetRecords with limit from it until the tip of an open
// shard (an empty answer) or the end of a closed one, and returns the
// records' data and whether the shard ended.
func readAll(t *testing.T, f *kinesisfake.Fake, it *string, limit int32) (data []string, ended bool) {
	t.Helper()
	for range 10000 {
		out, err := f.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(limit)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Records {
			data = append(data, string(r.Data))
		}
		if out.NextShardIterator == nil {
			return data, true
		}
		if len(out.Records) == 0 {
			return data, false
		}
		it = out.NextShardIterator
	}
	t.Fatal("readAll: no end after 10000 calls")
	return nil, false
}

func listShards(t *testing.T, f *kinesisfake.Fake, stream string) map[string]types.Shard {
	t.Helper()
	out, err := f.ListShards(t.Context(), &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]types.Shard{}
	for _, s := range out.Shards {
		m[aws.ToString(s.ShardId)] = s
	}
	return m
}

// isErr reports whether err wraps an error of type T.
func isErr[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// errKind names the SDK error type of err, for test messages and tables.
func errKind(err error) string {
	switch {
	case err == nil:
		return ""
	case isErr[*types.ResourceNotFoundException](err):
		return "ResourceNotFound"
	case isErr[*types.InvalidArgumentException](err):
		return "InvalidArgument"
	case isErr[*types.ResourceInUseException](err):
		return "ResourceInUse"
	case isErr[*types.ExpiredIteratorException](err):
		return "ExpiredIterator"
	case isErr[*types.ExpiredNextTokenException](err):
		return "ExpiredNextToken"
	case isErr[*types.ProvisionedThroughputExceededException](err):
		return "ProvisionedThroughputExceeded"
	case isErr[*types.LimitExceededException](err):
		return "LimitExceeded"
	}
	return "other: " + err.Error()
}
