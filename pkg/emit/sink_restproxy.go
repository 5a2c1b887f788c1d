package emit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/gateway"
	"github.com/pinpipe/pinpipe/pkg/landing"
)

// RestProxySink produces through a Kafka REST Proxy v2, in the original's
// shape (data.md §4, the wire shapes of pkg/gateway): POST
// {base}/topics/{P.table} with {"records":[{"value":{...}}, ...]}, up to
// MaxBatch records per request.
// Records the proxy reports with a retriable error code (2) are sent again;
// a request that fails as a whole (network, 5xx) is sent again as a whole, so
// a lost answer can duplicate records, as with any non-idempotent producer.
type RestProxySink struct {
	opts HTTPOptions
}

// NewRestProxySink returns a RestProxySink; it does no I/O.
func NewRestProxySink(opts HTTPOptions) (*RestProxySink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &RestProxySink{opts: opts.withDefaults()}, nil
}

// Check dials the proxy.
func (s *RestProxySink) Check(ctx context.Context) error { return checkReachable(ctx, s.opts.URL) }

// Write posts recs, one request per topic and chunk, concurrently.
func (s *RestProxySink) Write(ctx context.Context, recs []Record) []Failure {
	var (
		mu    sync.Mutex
		fails []Failure
		wg    sync.WaitGroup
	)
	for k, idx := range byTable(recs) {
		topic := landing.Topic(s.opts.Prefix, clean.Tables[k])
		for _, chunk := range chunks(recs, idx, s.opts.MaxBatch) {
			wg.Go(func() {
				f := s.post(ctx, topic, recs, chunk)
				mu.Lock()
				fails = append(fails, f...)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return fails
}

func (s *RestProxySink) post(ctx context.Context, topic string, recs []Record, idx []int) []Failure {
	target := s.opts.URL + topic
	pending := idx
	for attempt := 1; ; attempt++ {
		req := gateway.ProduceRequest{Records: make([]gateway.ProduceRecord, len(pending))}
		for j, i := range pending {
			req.Records[j].Value = recs[i].Value
		}
		data, err := s.opts.do(ctx, http.MethodPost, target, gateway.ContentTypeJSON, req.AppendJSON(nil))
		if err != nil {
			return failAll(pending, err)
		}
		var ans gateway.ProduceResponse
		if json.Unmarshal(data, &ans) != nil || len(ans.Offsets) != len(pending) {
			return nil // a 2xx answer without per-record offsets: all stored
		}
		var retry []int
		var fails []Failure
		for j, o := range ans.Offsets {
			if o.ErrorCode == nil {
				continue
			}
			var msg string
			if o.Error != nil {
				msg = *o.Error
			}
			err := fmt.Errorf("POST %s: error code %d: %s", target, *o.ErrorCode, msg)
			if *o.ErrorCode == gateway.RecordErrorRetriable && attempt < s.opts.MaxAttempts {
				retry = append(retry, pending[j])
				continue
			}
			fails = append(fails, Failure{Index: pending[j], Err: err})
		}
		if len(retry) == 0 {
			return fails
		}
		if len(fails) > 0 {
			return append(fails, failAll(retry, fmt.Errorf("POST %s: not retried after a permanent error in the same request", target))...)
		}
		pending = retry
	}
}

// Close does nothing: Write is synchronous.
func (s *RestProxySink) Close() error { return nil }
