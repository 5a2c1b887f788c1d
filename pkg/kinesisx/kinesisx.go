// Package kinesisx reads Kinesis data streams shard by shard with the plain
// GetRecords API: shard discovery (ListShards), the parent-before-child order
// of resharding, shard iterators (and their renewal when they expire), the
// 5 GetRecords per second per shard limit, and backoff on throttling; and
// the KPL's aggregated records (Deaggregate, Aggregator: several user records
// in one Kinesis record). It knows nothing about what the records mean or
// where they go.
package kinesisx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/internal/retry"
)

// API is the part of the Kinesis client this package uses; *kinesis.Client
// implements it.
type API interface {
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// Sentinel errors.
var (
	// ErrStreamNotFound is returned when a stream does not exist.
	ErrStreamNotFound = errors.New("stream does not exist")
	// ErrNoCredentials is returned when the AWS configuration has no usable credentials.
	ErrNoCredentials = errors.New("no AWS credentials")
)

// Shard describes one shard of a stream.
type Shard struct {
	ID string
	// Parents are ParentShardId and AdjacentParentShardId, when set.
	Parents []string
	// Closed is true when the shard has an ending sequence number: it takes
	// no more records and a reader reaches its end.
	Closed bool
}

// CheckStream reports whether stream exists and is reachable with the
// configured credentials. A missing stream gives an error wrapping
// ErrStreamNotFound; missing credentials one wrapping ErrNoCredentials.
func CheckStream(ctx context.Context, api API, stream string) error {
	_, err := api.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		return fmt.Errorf("describing stream %s: %w", stream, classify(err))
	}
	return nil
}

// classify maps SDK errors to the package's sentinels where it can.
func classify(err error) error {
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("%w (%s)", ErrStreamNotFound, aws.ToString(nf.Message))
	}
	if s := err.Error(); strings.Contains(s, "failed to retrieve credentials") || strings.Contains(s, "no EC2 IMDS role found") ||
		strings.Contains(s, "static credentials are empty") {
		return fmt.Errorf("%w: %w", ErrNoCredentials, err)
	}
	return err
}

// ListShards returns every shard of stream that the service still lists
// (open and closed ones within the retention period), following NextToken.
// Throttling is retried with backoff until ctx is done.
func ListShards(ctx context.Context, api API, stream string) ([]Shard, error) {
	var out []Shard
	var token *string
	bo := retry.New(retry.Policy{})
	for {
		in := &kinesis.ListShardsInput{}
		if token != nil {
			in.NextToken = token
		} else {
			in.StreamName = aws.String(stream)
		}
		res, err := api.ListShards(ctx, in)
		if err != nil {
			throttled := IsThrottle(err)
			err = fmt.Errorf("listing shards of %s: %w", stream, classify(err))
			if !throttled {
				err = retry.Permanent(err)
			}
			if err := bo.Wait(ctx, err); err != nil {
				return nil, err
			}
			continue
		}
		bo.Reset()
		for _, s := range res.Shards {
			sh := Shard{ID: aws.ToString(s.ShardId)}
			if p := aws.ToString(s.ParentShardId); p != "" {
				sh.Parents = append(sh.Parents, p)
			}
			if p := aws.ToString(s.AdjacentParentShardId); p != "" {
				sh.Parents = append(sh.Parents, p)
			}
			sh.Closed = s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil
			out = append(out, sh)
		}
		if res.NextToken == nil || *res.NextToken == "" {
			return out, nil
		}
		token = res.NextToken
	}
}

// Ready returns the shards of all that may be read now, in listing order:
// those not finished whose parents are all finished. A parent that is no
// longer listed has expired (past the retention period) and counts as
// finished. finished reports whether a shard has been read to its end (and
// remembered so).
func Ready(all []Shard, finished func(id string) bool) []Shard {
	listed := make(map[string]bool, len(all))
	for _, s := range all {
		listed[s.ID] = true
	}
	var out []Shard
	for _, s := range all {
		if finished(s.ID) {
			continue
		}
		ok := true
		for _, p := range s.Parents {
			if listed[p] && !finished(p) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// CompareSequence compares two Kinesis sequence numbers (decimal strings of
// up to 128 bits): -1 when a < b, 0 when equal, +1 when a > b.
func CompareSequence(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return strings.Compare(a, b)
}

// IsThrottle reports whether err is a throttling error of Kinesis
// (ProvisionedThroughputExceeded, LimitExceeded, KMSThrottling or a generic
// throttling code).
func IsThrottle(err error) bool {
	var pt *types.ProvisionedThroughputExceededException
	var le *types.LimitExceededException
	var kt *types.KMSThrottlingException
	if errors.As(err, &pt) || errors.As(err, &le) || errors.As(err, &kt) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "Throttling") || strings.Contains(s, "ThrottlingException") || strings.Contains(s, "SlowDown")
}

// IsExpiredIterator reports whether err says the shard iterator expired.
func IsExpiredIterator(err error) bool {
	var ei *types.ExpiredIteratorException
	return errors.As(err, &ei)
}

// isPermanent reports errors that retrying the same call will not fix.
func isPermanent(err error) bool {
	var nf *types.ResourceNotFoundException
	var ad *types.AccessDeniedException
	var ia *types.InvalidArgumentException
	return errors.As(err, &nf) || errors.As(err, &ad) || errors.As(err, &ia) || errors.Is(classify(err), ErrNoCredentials)
}
