package kinesisfake

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/pinpipe/pinpipe/pkg/kinesisx"
)

var _ kinesisx.API = (*Fake)(nil)

// DescribeStreamSummary implements kinesisx.API. A missing stream gives
// *types.ResourceNotFoundException.
func (f *Fake) DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, _ ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	if in == nil {
		in = &kinesis.DescribeStreamSummaryInput{}
	}
	c := Call{Op: OpDescribeStreamSummary, Stream: nameOf(in.StreamName, in.StreamARN), Input: in}
	return do(ctx, f, c, func(time.Time) (*kinesis.DescribeStreamSummaryOutput, error) {
		s, err := f.streamOf(in.StreamName, in.StreamARN)
		if err != nil {
			return nil, err
		}
		open := 0
		for _, sh := range s.shards {
			if sh.open() {
				open++
			}
		}
		return &kinesis.DescribeStreamSummaryOutput{StreamDescriptionSummary: &types.StreamDescriptionSummary{
			StreamName:              aws.String(s.name),
			StreamARN:               aws.String(s.arn()),
			StreamStatus:            types.StreamStatusActive,
			StreamModeDetails:       &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned},
			RetentionPeriodHours:    aws.Int32(int32(f.o.Retention / time.Hour)),
			StreamCreationTimestamp: aws.Time(s.created),
			EnhancedMonitoring:      []types.EnhancedMetrics{{ShardLevelMetrics: []types.MetricsName{}}},
			EncryptionType:          types.EncryptionTypeNone,
			OpenShardCount:          aws.Int32(int32(open)),
			ConsumerCount:           aws.Int32(0),
		}}, nil
	})
}

// ListShards implements kinesisx.API: the listed shards in shard ID order,
// at most Options.PageSize or MaxResults a call, with a NextToken while
// more remain.
func (f *Fake) ListShards(ctx context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	if in == nil {
		in = &kinesis.ListShardsInput{}
	}
	c := Call{Op: OpListShards, Stream: nameOf(in.StreamName, in.StreamARN), Input: in}
	if t, ok := parsePageToken(aws.ToString(in.NextToken)); ok {
		c.Stream = t.stream
	}
	return do(ctx, f, c, func(now time.Time) (*kinesis.ListShardsOutput, error) { return f.listShards(in, now) })
}

func (f *Fake) listShards(in *kinesis.ListShardsInput, now time.Time) (*kinesis.ListShardsOutput, error) {
	var t pageToken
	if in.NextToken != nil {
		if in.StreamName != nil || in.StreamARN != nil || in.ExclusiveStartShardId != nil || in.ShardFilter != nil || in.StreamCreationTimestamp != nil {
			return nil, invalidArg("NextToken and StreamName cannot be provided together.")
		}
		var ok bool
		if t, ok = parsePageToken(*in.NextToken); !ok {
			return nil, invalidArg("Invalid NextToken.")
		}
		if now.Sub(t.issued) > nextTokenTTL {
			return nil, &types.ExpiredNextTokenException{Message: aws.String("The timestamp of the NextToken has expired.")}
		}
	} else {
		if in.StreamName == nil && in.StreamARN == nil {
			return nil, invalidArg("Either NextToken or StreamName should be provided.")
		}
		t.stream = aws.ToString(in.StreamName)
		t.after = aws.ToString(in.ExclusiveStartShardId)
		if fl := in.ShardFilter; fl != nil {
			switch fl.Type {
			case types.ShardFilterTypeAfterShardId:
				if fl.ShardId == nil || in.ExclusiveStartShardId != nil {
					return nil, invalidArg("ShardFilter AFTER_SHARD_ID needs a ShardId and no ExclusiveStartShardId.")
				}
				t.after = *fl.ShardId
			case types.ShardFilterTypeAtLatest:
				t.openOnly = true
			case types.ShardFilterTypeFromTrimHorizon:
			default:
				return nil, invalidArg("ShardFilter type %q is not supported by kinesisfake", fl.Type)
			}
		}
	}
	page := f.o.PageSize
	if m := in.MaxResults; m != nil {
		if *m < 1 || *m > maxMaxResults {
			return nil, invalidArg("MaxResults %d is not in 1..%d", *m, maxMaxResults)
		}
		page = min(page, int(*m))
	}
	s, err := f.streamOf(aws.String(t.stream), in.StreamARN)
	if err != nil {
		return nil, err
	}
	out := &kinesis.ListShardsOutput{Shards: []types.Shard{}}
	for i, sh := range s.shards {
		if sh.gone || sh.id <= t.after || t.openOnly && !sh.open() {
			continue
		}
		if len(out.Shards) == page {
			t.stream, t.after, t.issued = s.name, aws.ToString(out.Shards[page-1].ShardId), now
			out.NextToken = aws.String(t.String())
			break
		}
		out.Shards = append(out.Shards, describeShard(i, sh))
	}
	return out, nil
}

func describeShard(i int, sh *shard) types.Shard {
	d := types.Shard{
		ShardId:      aws.String(sh.id),
		HashKeyRange: &types.HashKeyRange{StartingHashKey: aws.String(sh.lo.String()), EndingHashKey: aws.String(sh.hi.String())},
		SequenceNumberRange: &types.SequenceNumberRange{
			StartingSequenceNumber: aws.String(formatSeq(sh.start, i)),
		},
	}
	if sh.parent != "" {
		d.ParentShardId = aws.String(sh.parent)
	}
	if sh.adjacent != "" {
		d.AdjacentParentShardId = aws.String(sh.adjacent)
	}
	if !sh.open() {
		d.SequenceNumberRange.EndingSequenceNumber = aws.String(formatSeq(sh.end, i))
	}
	return d
}

// GetShardIterator implements kinesisx.API for every iterator type. An
// unknown (or no longer listed) shard gives
// *types.ResourceNotFoundException; a sequence number of another shard, an
// AT_TIMESTAMP in the future or a missing parameter
// *types.InvalidArgumentException.
func (f *Fake) GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, _ ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	if in == nil {
		in = &kinesis.GetShardIteratorInput{}
	}
	c := Call{Op: OpGetShardIterator, Stream: nameOf(in.StreamName, in.StreamARN), Shard: aws.ToString(in.ShardId), Input: in}
	return do(ctx, f, c, func(now time.Time) (*kinesis.GetShardIteratorOutput, error) { return f.getShardIterator(in, now) })
}

func (f *Fake) getShardIterator(in *kinesis.GetShardIteratorInput, now time.Time) (*kinesis.GetShardIteratorOutput, error) {
	s, err := f.streamOf(in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	i, sh, err := s.shard(aws.ToString(in.ShardId))
	if err != nil {
		return nil, err
	}
	it := iterator{stream: s.name, shard: i, issued: now, epoch: f.epoch}
	typ := in.ShardIteratorType
	switch typ {
	case types.ShardIteratorTypeTrimHorizon, types.ShardIteratorTypeLatest:
		if in.StartingSequenceNumber != nil {
			return nil, invalidArg("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and also a StartingSequenceNumber.", typ)
		}
		if typ == types.ShardIteratorTypeLatest {
			it.next = s.seq + 1
		}
	case types.ShardIteratorTypeAtSequenceNumber, types.ShardIteratorTypeAfterSequenceNumber:
		if in.StartingSequenceNumber == nil {
			return nil, invalidArg("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and no StartingSequenceNumber.", typ)
		}
		seq := *in.StartingSequenceNumber
		n, j, ok := parseSeq(seq)
		if !ok {
			return nil, invalidArg("StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid.", seq, sh.id, s.name, accountID)
		}
		if j != i {
			return nil, invalidArg("Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s", shardID(j), sh.id)
		}
		it.next = n
		if typ == types.ShardIteratorTypeAfterSequenceNumber {
			it.next++
		}
	case types.ShardIteratorTypeAtTimestamp:
		if in.Timestamp == nil {
			return nil, invalidArg("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
		}
		ts := *in.Timestamp
		if ts.After(now) {
			return nil, invalidArg("The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: %d, currentTimestampInMillis: %d", ts.UnixMilli(), now.UnixMilli())
		}
		k := sort.Search(len(sh.records), func(k int) bool { return !sh.records[k].arrival.Before(ts) })
		if k < len(sh.records) {
			it.next = sh.records[k].seq
		} else {
			it.next = s.seq + 1
		}
	default:
		return nil, invalidArg("ShardIteratorType %q is not one of AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP", typ)
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String(it.String())}, nil
}

// GetRecords implements kinesisx.API: up to Limit records (default 10000)
// and 10 MiB from the iterator's position, MillisBehindLatest (the age of
// the oldest record not yet returned; 0 at the tip), and the
// NextShardIterator, nil with the ChildShards once a closed shard is read
// to its end. An expired iterator gives *types.ExpiredIteratorException, a
// malformed one or a bad Limit *types.InvalidArgumentException.
func (f *Fake) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	if in == nil {
		in = &kinesis.GetRecordsInput{}
	}
	c := Call{Op: OpGetRecords, Input: in}
	if it, ok := parseIterator(aws.ToString(in.ShardIterator)); ok {
		c.Stream, c.Shard = it.stream, shardID(it.shard)
	}
	return do(ctx, f, c, func(now time.Time) (*kinesis.GetRecordsOutput, error) { return f.getRecords(in, now) })
}

func (f *Fake) getRecords(in *kinesis.GetRecordsInput, now time.Time) (*kinesis.GetRecordsOutput, error) {
	it, ok := parseIterator(aws.ToString(in.ShardIterator))
	if !ok {
		return nil, invalidArg("Invalid ShardIterator.")
	}
	limit := maxRecordsPerCall
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > maxRecordsPerCall {
			return nil, invalidArg("Limit %d is not in 1..%d", *in.Limit, maxRecordsPerCall)
		}
		limit = int(*in.Limit)
	}
	s, err := f.stream(it.stream)
	if err != nil {
		return nil, err
	}
	if it.shard >= len(s.shards) || s.shards[it.shard].gone {
		return nil, &types.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Shard %s in stream %s under account %s does not exist", shardID(it.shard), s.name, accountID))}
	}
	if it.epoch < f.epoch || now.Sub(it.issued) > f.o.IteratorTTL {
		return nil, &types.ExpiredIteratorException{Message: aws.String(fmt.Sprintf(
			"Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of %d milliseconds.",
			it.issued.UTC().Format(time.UnixDate), now.UTC().Format(time.UnixDate), f.o.IteratorTTL.Milliseconds()))}
	}
	sh := s.shards[it.shard]
	recs := sh.records
	from := sort.Search(len(recs), func(k int) bool { return recs[k].seq >= it.next })
	to, size := from, 0
	for to < len(recs) && to-from < limit {
		n := len(recs[to].data) + len(recs[to].key)
		if to > from && size+n > maxBytesPerCall {
			break
		}
		size += n
		to++
	}
	out := &kinesis.GetRecordsOutput{Records: make([]types.Record, 0, to-from), MillisBehindLatest: aws.Int64(0)}
	for _, r := range recs[from:to] {
		out.Records = append(out.Records, types.Record{
			SequenceNumber:              aws.String(formatSeq(r.seq, it.shard)),
			ApproximateArrivalTimestamp: aws.Time(r.arrival),
			PartitionKey:                aws.String(r.key),
			Data:                        append([]byte(nil), r.data...),
		})
	}
	if to < len(recs) {
		out.MillisBehindLatest = aws.Int64(max(0, now.Sub(recs[to].arrival).Milliseconds()))
	}
	if !sh.open() && to == len(recs) && (to == from || !f.o.EndWithEmptyBatch) {
		for _, child := range s.shards {
			if child.parent == sh.id || child.adjacent == sh.id {
				parents := []string{child.parent}
				if child.adjacent != "" {
					parents = append(parents, child.adjacent)
				}
				out.ChildShards = append(out.ChildShards, types.ChildShard{
					ShardId:      aws.String(child.id),
					ParentShards: parents,
					HashKeyRange: &types.HashKeyRange{StartingHashKey: aws.String(child.lo.String()), EndingHashKey: aws.String(child.hi.String())},
				})
			}
		}
		return out, nil
	}
	if to > from {
		it.next = recs[to-1].seq + 1
	}
	it.issued, it.epoch = now, f.epoch
	out.NextShardIterator = aws.String(it.String())
	return out, nil
}

// do runs one call: it counts it, applies the faults, then runs fn under
// the lock, after trimming, with the clock's time.
func do[O any](ctx context.Context, f *Fake, c Call, fn func(now time.Time) (*O, error)) (*O, error) {
	if err := f.enter(ctx, &c); err != nil {
		return nil, opError(c.Op, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.o.Now()
	f.trim(now)
	out, err := fn(now)
	if err != nil {
		return nil, opError(c.Op, err)
	}
	return out, nil
}

func opError(op Op, err error) error {
	return &smithy.OperationError{ServiceID: "Kinesis", OperationName: string(op), Err: err}
}

// nameOf returns the stream name of a request, from its name or its ARN,
// or "".
func nameOf(name, arn *string) string {
	if n := aws.ToString(name); n != "" {
		return n
	}
	_, n, _ := strings.Cut(aws.ToString(arn), ":stream/")
	return n
}

// streamOf returns the stream a request names by name or ARN; f.mu is held.
func (f *Fake) streamOf(name, arn *string) (*stream, error) {
	n := aws.ToString(name)
	if a := aws.ToString(arn); a != "" {
		_, fromARN, ok := strings.Cut(a, ":stream/")
		if !ok || !strings.HasPrefix(a, "arn:") || fromARN == "" {
			return nil, invalidArg("StreamARN %q is not a stream ARN", a)
		}
		if n != "" && n != fromARN {
			return nil, invalidArg("StreamName %s and StreamARN %s name different streams", n, a)
		}
		n = fromARN
	}
	if n == "" {
		return nil, invalidArg("StreamName or StreamARN is required")
	}
	return f.stream(n)
}
