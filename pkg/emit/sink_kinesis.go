package emit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/internal/ctxwait"
	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/landing"
)

// Kinesis limits of one PutRecords request.
const (
	kinesisMaxRecords = 500
	kinesisMaxBytes   = 5 << 20
	// kinesisMaxAggregate bounds an aggregated record, its partition key
	// included, below the 1 MiB limit of a Kinesis record; a record that
	// does not fit with others goes alone.
	kinesisMaxAggregate = 1000 << 10
)

// KinesisAPI is the part of the Kinesis client the sink uses.
type KinesisAPI interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	CreateStream(ctx context.Context, in *kinesis.CreateStreamInput, optFns ...func(*kinesis.Options)) (*kinesis.CreateStreamOutput, error)
}

// KinesisOptions configures a KinesisSink.
type KinesisOptions struct {
	// Client talks to Kinesis. Required (build it from the standard AWS
	// configuration: config.LoadDefaultConfig honours AWS_ENDPOINT_URL_KINESIS).
	Client KinesisAPI
	// Prefix P names the streams streaming-P-pin, -geo, -user. Required.
	Prefix string
	// CreateStreams creates missing streams in Check. Default: false.
	CreateStreams bool
	// Shards of created streams. Default: 1.
	Shards int
	// MaxAttempts is how often a record is put before it fails. Default: 10.
	MaxAttempts int
	// Backoff is the first wait before a retry; it doubles (jittered) up to 5s.
	// Default: 100ms.
	Backoff time.Duration
	// Aggregate packs the records of one Write to one stream into
	// KPL-aggregated Kinesis records (kinesisx.Aggregator) of up to
	// kinesisMaxAggregate bytes, each with the partition key of its first
	// record, as producers built on the KPL do. Default: false, a Kinesis
	// record per record.
	Aggregate bool
}

// Validate reports a bad option.
func (o KinesisOptions) Validate() error {
	if o.Client == nil {
		return errors.New("kinesis: no client")
	}
	if o.Prefix == "" {
		return errors.New("kinesis: no stream prefix")
	}
	return nil
}

// KinesisSink puts records to the streams streaming-P-pin|geo|user with
// PutRecords in requests of up to 500 records, partition key ind. Entries a
// request reports failed (throttled: ProvisionedThroughputExceededException,
// or InternalFailure) are retried alone, with exponential backoff; a
// request that fails as a whole is retried as a whole (the SDK's retryer
// also retries it first).
type KinesisSink struct {
	opts KinesisOptions
}

// NewKinesisSink returns a KinesisSink; it does no I/O (see Check).
func NewKinesisSink(opts KinesisOptions) (*KinesisSink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Shards == 0 {
		opts.Shards = 1
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 10
	}
	if opts.Backoff == 0 {
		opts.Backoff = 100 * time.Millisecond
	}
	return &KinesisSink{opts: opts}, nil
}

// Stream returns the stream of table t.
func (s *KinesisSink) Stream(t clean.Table) string { return landing.Stream(s.opts.Prefix, t) }

// Check makes sure the three streams exist (creating them when
// CreateStreams is set) and are writable.
func (s *KinesisSink) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, t := range clean.Tables {
		name := s.Stream(t)
		_, err := s.opts.Client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err == nil {
			continue
		}
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			return fmt.Errorf("kinesis: describing stream %s: %w", name, err)
		}
		if !s.opts.CreateStreams {
			return fmt.Errorf("kinesis stream %s does not exist (create it, or pass --create)", name)
		}
		_, err = s.opts.Client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(int32(s.opts.Shards))})
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("kinesis: creating stream %s: %w", name, err)
		}
		if err := s.waitActive(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (s *KinesisSink) waitActive(ctx context.Context, name string) error {
	for {
		out, err := s.opts.Client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err == nil && out.StreamDescriptionSummary != nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return nil
		}
		if err := ctxwait.Sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("kinesis: waiting for stream %s to become active: %w", name, err)
		}
	}
}

// kinesisEntry is one Kinesis record to put: a record, or the records
// aggregated into it.
type kinesisEntry struct {
	key  string
	data []byte
	idx  []int // the records of recs it carries
}

// entries are the Kinesis records of the records recs[idx...], in order.
// Without aggregation their idx are sub-slices of idx, which must not change.
func (s *KinesisSink) entries(recs []Record, idx []int) []kinesisEntry {
	out := make([]kinesisEntry, 0, len(idx))
	if !s.opts.Aggregate {
		for j, i := range idx {
			out = append(out, kinesisEntry{key: recs[i].Key, data: recs[i].Value, idx: idx[j : j+1 : j+1]})
		}
		return out
	}
	var a kinesisx.Aggregator
	var cur kinesisEntry
	done := func() {
		if a.Len() > 0 {
			cur.data = a.Bytes()
			out = append(out, cur)
			a.Reset()
			cur = kinesisEntry{}
		}
	}
	for _, i := range idx {
		r := recs[i]
		if a.Len() > 0 && a.SizeWith(r.Key, r.Value)+len(cur.key) > kinesisMaxAggregate {
			done()
		}
		if a.Len() == 0 {
			cur.key = r.Key
		}
		a.Add(r.Key, r.Value)
		cur.idx = append(cur.idx, i)
	}
	done()
	return out
}

// Write puts recs, one request per stream and chunk of 500 Kinesis records
// (or 5 MiB), the streams concurrently.
func (s *KinesisSink) Write(ctx context.Context, recs []Record) []Failure {
	var (
		mu    sync.Mutex
		fails []Failure
		wg    sync.WaitGroup
	)
	for _, t := range clean.Tables {
		var idx []int
		for i, r := range recs {
			if r.Table == t {
				idx = append(idx, i)
			}
		}
		entries := s.entries(recs, idx)
		for len(entries) > 0 {
			n, size := 0, 0
			for n < len(entries) && n < kinesisMaxRecords {
				sz := len(entries[n].data) + len(entries[n].key)
				if n > 0 && size+sz > kinesisMaxBytes {
					break
				}
				size += sz
				n++
			}
			chunk := entries[:n]
			entries = entries[n:]
			wg.Go(func() {
				f := s.put(ctx, s.Stream(t), chunk)
				mu.Lock()
				fails = append(fails, f...)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return fails
}

// put puts entries to stream, retrying failed ones; a failure fails every
// record an entry carries.
func (s *KinesisSink) put(ctx context.Context, stream string, entries []kinesisEntry) []Failure {
	pending := entries
	bo := retry.New(retry.Policy{Initial: s.opts.Backoff, Max: maxBackoff, MaxAttempts: s.opts.MaxAttempts})
	for {
		req := make([]types.PutRecordsRequestEntry, len(pending))
		for j, e := range pending {
			req[j] = types.PutRecordsRequestEntry{Data: e.data, PartitionKey: aws.String(e.key)}
		}
		out, err := s.opts.Client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: req})
		var lastErr error
		switch {
		case err != nil:
			lastErr = fmt.Errorf("kinesis stream %s: %w", stream, err)
			var nf *types.ResourceNotFoundException
			if errors.As(err, &nf) {
				lastErr = retry.Permanent(lastErr)
			}
		case len(out.Records) != len(pending):
			return failEntries(pending, fmt.Errorf("kinesis stream %s: %d results for %d records", stream, len(out.Records), len(pending)))
		default:
			var again []kinesisEntry
			for j, r := range out.Records {
				if r.ErrorCode == nil {
					continue
				}
				again = append(again, pending[j])
				lastErr = fmt.Errorf("kinesis stream %s: %s: %s", stream, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
			}
			if len(again) == 0 {
				return nil
			}
			pending = again
		}
		if err := bo.Wait(ctx, lastErr); err != nil {
			return failEntries(pending, err)
		}
	}
}

func failAll(idx []int, err error) []Failure {
	f := make([]Failure, len(idx))
	for j, i := range idx {
		f[j] = Failure{Index: i, Err: err}
	}
	return f
}

// failEntries fails every record of entries.
func failEntries(entries []kinesisEntry, err error) []Failure {
	var f []Failure
	for _, e := range entries {
		for _, i := range e.idx {
			f = append(f, Failure{Index: i, Err: err})
		}
	}
	return f
}

// Close does nothing: Write is synchronous.
func (s *KinesisSink) Close() error { return nil }
