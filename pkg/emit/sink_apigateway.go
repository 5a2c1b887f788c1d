package emit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/pinpipe/pinpipe/internal/ctxwait"
	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/gateway"
	"github.com/pinpipe/pinpipe/pkg/landing"
)

// APIGatewaySink puts records to Kinesis through the original's API Gateway
// (data.md §4, the wire shapes of pkg/gateway): PUT {base}/streams/streaming-P-table/records with
// {"records":[{"data":{...},"partition-key":"ind"}, ...]}, or, with
// MaxBatch 1, PUT .../record with {"StreamName","Data","PartitionKey"} per
// record (8 requests in parallel). Entries the answer (a Kinesis PutRecords
// result) reports failed are retried alone, with backoff.
type APIGatewaySink struct {
	opts HTTPOptions
}

// NewAPIGatewaySink returns an APIGatewaySink; it does no I/O.
func NewAPIGatewaySink(opts HTTPOptions) (*APIGatewaySink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &APIGatewaySink{opts: opts.withDefaults()}, nil
}

// Check dials the gateway. With Create, it then creates the streams missing
// (POST {base}/streams/{stream}, one shard) and waits until every stream is
// ACTIVE (GET {base}/streams/{stream}), for at most streamActiveTimeout.
func (s *APIGatewaySink) Check(ctx context.Context) error {
	if err := checkReachable(ctx, s.opts.URL); err != nil {
		return err
	}
	if !s.opts.Create {
		return nil
	}
	for _, t := range clean.Tables {
		if err := s.createStream(ctx, landing.Stream(s.opts.Prefix, t)); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, streamActiveTimeout)
	defer cancel()
	for _, t := range clean.Tables {
		if err := s.waitActive(ctx, landing.Stream(s.opts.Prefix, t)); err != nil {
			return err
		}
	}
	return nil
}

// streamActiveTimeout bounds the wait for the streams Check creates.
const streamActiveTimeout = time.Minute

// createStream creates stream unless it exists; one created meanwhile by
// another (409) is fine.
func (s *APIGatewaySink) createStream(ctx context.Context, stream string) error {
	_, err := s.opts.do(ctx, http.MethodGet, s.opts.URL+stream, "application/json", nil)
	if !hasStatus(err, http.StatusNotFound) {
		return err // nil: it exists
	}
	body, err := json.Marshal(gateway.CreateStreamRequest{ShardCount: 1})
	if err != nil {
		return err
	}
	if _, err := s.opts.do(ctx, http.MethodPost, s.opts.URL+stream, "application/json", body); err != nil && !hasStatus(err, http.StatusConflict) {
		return fmt.Errorf("creating stream %s: %w", stream, err)
	}
	return nil
}

// waitActive waits until stream is ACTIVE.
func (s *APIGatewaySink) waitActive(ctx context.Context, stream string) error {
	for {
		data, err := s.opts.do(ctx, http.MethodGet, s.opts.URL+stream, "application/json", nil)
		var d gateway.DescribeStreamResponse
		if err == nil && json.Unmarshal(data, &d) == nil && d.StreamDescription.StreamStatus == "ACTIVE" {
			return nil
		}
		if werr := ctxwait.Sleep(ctx, 200*time.Millisecond); werr != nil {
			return fmt.Errorf("waiting for stream %s to become ACTIVE (last answer: %v %s): %w", stream, err, data, werr)
		}
	}
}

// Write puts recs, one request per stream and chunk, concurrently.
func (s *APIGatewaySink) Write(ctx context.Context, recs []Record) []Failure {
	var (
		mu    sync.Mutex
		fails []Failure
		wg    sync.WaitGroup
	)
	add := func(f []Failure) {
		mu.Lock()
		fails = append(fails, f...)
		mu.Unlock()
	}
	if s.opts.MaxBatch == 1 {
		next := make(chan int)
		for range 8 {
			wg.Go(func() {
				for i := range next {
					add(s.putOne(ctx, recs, i))
				}
			})
		}
		for i := range recs {
			next <- i
		}
		close(next)
		wg.Wait()
		return fails
	}
	for k, idx := range byTable(recs) {
		stream := landing.Stream(s.opts.Prefix, clean.Tables[k])
		for _, chunk := range chunks(recs, idx, min(s.opts.MaxBatch, kinesisMaxRecords)) {
			wg.Go(func() { add(s.putMany(ctx, stream, recs, chunk)) })
		}
	}
	wg.Wait()
	return fails
}

func (s *APIGatewaySink) putOne(ctx context.Context, recs []Record, i int) []Failure {
	r := recs[i]
	stream := landing.Stream(s.opts.Prefix, r.Table)
	target := s.opts.URL + stream + "/record"
	body := gateway.PutRecordRequest{StreamName: stream, Data: r.Value, PartitionKey: r.Key}.AppendJSON(nil)
	if _, err := s.opts.do(ctx, http.MethodPut, target, "application/json", body); err != nil {
		return []Failure{{Index: i, Err: err}}
	}
	return nil
}

func (s *APIGatewaySink) putMany(ctx context.Context, stream string, recs []Record, idx []int) []Failure {
	target := s.opts.URL + stream + "/records"
	pending := idx
	bo := retry.New(s.opts.retryPolicy())
	for {
		req := gateway.PutRecordsRequest{Records: make([]gateway.PutRecordsEntry, len(pending))}
		for j, i := range pending {
			req.Records[j] = gateway.PutRecordsEntry{Data: recs[i].Value, PartitionKey: recs[i].Key}
		}
		data, err := s.opts.do(ctx, http.MethodPut, target, "application/json", req.AppendJSON(nil))
		if err != nil {
			return failAll(pending, err)
		}
		var ans gateway.PutRecordsResponse
		if json.Unmarshal(data, &ans) != nil || len(ans.Records) != len(pending) {
			return nil // a 2xx answer without per-record results: all stored
		}
		var again []int
		var lastErr error
		for j, r := range ans.Records {
			if r.ErrorCode != "" {
				again = append(again, pending[j])
				lastErr = fmt.Errorf("PUT %s: %s: %s", target, r.ErrorCode, r.ErrorMessage)
			}
		}
		if len(again) == 0 {
			return nil
		}
		pending = again
		if err := bo.Wait(ctx, lastErr); err != nil {
			return failAll(pending, err)
		}
	}
}

// Close does nothing: Write is synchronous.
func (s *APIGatewaySink) Close() error { return nil }
