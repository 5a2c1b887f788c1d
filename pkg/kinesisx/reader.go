package kinesisx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/internal/ctxwait"
	"github.com/pinpipe/pinpipe/internal/retry"
)

// PositionType says where a shard iterator starts.
type PositionType int

// The starting positions.
const (
	TrimHorizon   PositionType = iota // the oldest record still kept
	Latest                            // just after the newest record
	AtTimestamp                       // the first record at or after Position.Timestamp
	AfterSequence                     // just after Position.Sequence
)

// Position is where a reader starts in a shard.
type Position struct {
	Type      PositionType
	Sequence  string    // AfterSequence
	Timestamp time.Time // AtTimestamp
}

func (p Position) String() string {
	switch p.Type {
	case TrimHorizon:
		return "TRIM_HORIZON"
	case Latest:
		return "LATEST"
	case AtTimestamp:
		return "AT_TIMESTAMP " + p.Timestamp.UTC().Format(time.RFC3339Nano)
	default:
		return "AFTER_SEQUENCE_NUMBER " + p.Sequence
	}
}

// Record is one Kinesis record, or one user record of a KPL-aggregated
// Kinesis record (Deaggregate).
type Record struct {
	Sequence     string
	Arrival      time.Time // ApproximateArrivalTimestamp
	PartitionKey string
	Data         []byte
	// Aggregated marks a user record of a KPL-aggregated record, whose
	// index in it is SubSequence (from 0).
	Aggregated  bool
	SubSequence int64
}

// Batch is the answer of one GetRecords call.
type Batch struct {
	Records            []Record
	MillisBehindLatest int64
	// End is true when the shard is closed and has been read to its end
	// (NextShardIterator is null): there will be no more records.
	End bool
}

// ReaderOptions configures a ShardReader.
type ReaderOptions struct {
	Stream  string   // required
	ShardID string   // required
	Start   Position // where to start. Default: TRIM_HORIZON
	// Limit is the most records per GetRecords call. Default: 10000 (the service maximum).
	Limit int32
	// MinInterval is the least time between two GetRecords calls on the
	// shard; the service allows 5 per second per shard. Default: 200ms.
	MinInterval time.Duration
	// MaxBackoff caps the wait after throttling or transient errors. Default: 5s.
	MaxBackoff time.Duration
	// Logger receives retry messages. Default: nil, silent.
	Logger *slog.Logger
}

// Validate reports options that cannot work.
func (o ReaderOptions) Validate() error {
	switch {
	case o.Stream == "":
		return errors.New("kinesisx: Stream is required")
	case o.ShardID == "":
		return errors.New("kinesisx: ShardID is required")
	case o.Limit < 0 || o.Limit > 10000:
		return fmt.Errorf("kinesisx: Limit is %d, want 0..10000", o.Limit)
	case o.MinInterval < 0 || o.MaxBackoff < 0:
		return errors.New("kinesisx: negative MinInterval or MaxBackoff")
	case o.Start.Type == AfterSequence && o.Start.Sequence == "":
		return errors.New("kinesisx: AfterSequence position without a sequence number")
	}
	return nil
}

// ReaderStats counts what a ShardReader did.
type ReaderStats struct {
	Calls     int64 // GetRecords calls
	Throttled int64 // throttling answers (GetRecords and GetShardIterator)
	Expired   int64 // iterators renewed after ExpiredIteratorException
	Errors    int64 // other errors retried
}

// ShardReader reads one shard in order. It is not safe for concurrent use.
type ShardReader struct {
	api      API
	o        ReaderOptions
	log      *slog.Logger
	iter     *string
	lastSeq  string // the last sequence number returned by Next
	lastCall time.Time
	done     bool
	stats    ReaderStats
}

// NewShardReader returns a reader of one shard. It does no I/O.
func NewShardReader(api API, o ReaderOptions) (*ShardReader, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Limit == 0 {
		o.Limit = 10000
	}
	if o.MinInterval == 0 {
		o.MinInterval = 200 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 5 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("stream", o.Stream, "shard", o.ShardID)
	r := &ShardReader{api: api, o: o, log: log}
	if o.Start.Type == AfterSequence {
		r.lastSeq = o.Start.Sequence
	}
	return r, nil
}

// Stats returns a snapshot of the reader's counters.
func (r *ShardReader) Stats() ReaderStats { return r.stats }

// Next makes one GetRecords call, no sooner than MinInterval after the
// previous one, and returns its records (possibly none). Throttling,
// expired iterators (renewed just after the last record returned, or at the
// start position when none was) and transient errors are retried with
// backoff until ctx is done. It returns an error only when ctx is done or
// on a permanent error (stream or shard not found, access denied, invalid
// argument). After a Batch with End, Next returns io.EOF-like ErrShardEnded.
func (r *ShardReader) Next(ctx context.Context) (Batch, error) {
	if r.done {
		return Batch{End: true}, ErrShardEnded
	}
	// Each retried error is counted and logged; the wait grows from
	// MinInterval up to MaxBackoff.
	bo := retry.New(retry.Policy{Initial: r.o.MinInterval, Max: r.o.MaxBackoff,
		Notify: func(err error, _ int, wait time.Duration) {
			r.count(err)
			if r.iter == nil { // getting the iterator failed
				r.log.Warn("getting shard iterator, will retry", "err", err, "wait", wait)
			} else {
				r.log.Debug("GetRecords retry", "err", err, "wait", wait)
			}
		}})
	for {
		if r.iter == nil {
			it, err := r.iterator(ctx)
			if err != nil {
				if isPermanent(err) {
					err = retry.Permanent(err)
				}
				if err := bo.Wait(ctx, err); err != nil {
					return Batch{}, err
				}
				continue
			}
			r.iter = it
		}
		if err := ctxwait.Sleep(ctx, time.Until(r.lastCall.Add(r.o.MinInterval))); err != nil {
			return Batch{}, err
		}
		r.lastCall = time.Now()
		r.stats.Calls++
		res, err := r.api.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: r.iter, Limit: aws.Int32(r.o.Limit)})
		if err != nil {
			if IsExpiredIterator(err) && ctx.Err() == nil {
				r.stats.Expired++
				r.log.Info("shard iterator expired, renewing", "after", r.lastSeq)
				r.iter = nil
				continue
			}
			if isPermanent(err) {
				err = retry.Permanent(fmt.Errorf("reading %s/%s: %w", r.o.Stream, r.o.ShardID, classify(err)))
			}
			if err := bo.Wait(ctx, err); err != nil {
				return Batch{}, err
			}
			continue
		}
		b := Batch{MillisBehindLatest: aws.ToInt64(res.MillisBehindLatest)}
		b.Records = make([]Record, 0, len(res.Records))
		for _, rec := range res.Records {
			b.Records = append(b.Records, Record{
				Sequence:     aws.ToString(rec.SequenceNumber),
				Arrival:      aws.ToTime(rec.ApproximateArrivalTimestamp),
				PartitionKey: aws.ToString(rec.PartitionKey),
				Data:         rec.Data,
			})
		}
		if n := len(b.Records); n > 0 {
			r.lastSeq = b.Records[n-1].Sequence
		}
		r.iter = res.NextShardIterator
		if r.iter == nil || *r.iter == "" {
			r.done = true
			b.End = true
		}
		return b, nil
	}
}

// ErrShardEnded is returned by Next after the end of a closed shard.
var ErrShardEnded = errors.New("shard ended")

func (r *ShardReader) count(err error) {
	if IsThrottle(err) {
		r.stats.Throttled++
	} else {
		r.stats.Errors++
	}
}

func (r *ShardReader) iterator(ctx context.Context) (*string, error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(r.o.Stream), ShardId: aws.String(r.o.ShardID)}
	switch {
	case r.lastSeq != "":
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(r.lastSeq)
	case r.o.Start.Type == Latest:
		in.ShardIteratorType = types.ShardIteratorTypeLatest
	case r.o.Start.Type == AtTimestamp:
		in.ShardIteratorType = types.ShardIteratorTypeAtTimestamp
		in.Timestamp = aws.Time(r.o.Start.Timestamp)
	default:
		in.ShardIteratorType = types.ShardIteratorTypeTrimHorizon
	}
	res, err := r.api.GetShardIterator(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("getting %s iterator of %s/%s: %w", in.ShardIteratorType, r.o.Stream, r.o.ShardID, err)
	}
	if res.ShardIterator == nil {
		return nil, fmt.Errorf("getting iterator of %s/%s: empty iterator", r.o.Stream, r.o.ShardID)
	}
	return res.ShardIterator, nil
}
