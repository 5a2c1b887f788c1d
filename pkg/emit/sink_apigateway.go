package emit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

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

// Check dials the gateway.
func (s *APIGatewaySink) Check(ctx context.Context) error { return checkReachable(ctx, s.opts.URL) }

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
