package emit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/emit"
	"github.com/pinpipe/pinpipe/pkg/gateway"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// fakeGateway is an HTTP server speaking the original's REST Proxy and API
// Gateway shapes (data.md §4). It checks every request and records what it
// stored; failEvery makes it fail some requests and entries once, to
// exercise the retries.
type fakeGateway struct {
	t         testing.TB
	failEvery int

	mu       sync.Mutex
	requests int
	stored   []got
	errs     []string
}

func (f *fakeGateway) errorf(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, a...))
}

func tableOf(name, prefix string) (clean.Table, bool) {
	for _, t := range clean.Tables {
		if name == landing.Topic(prefix, t) || name == landing.Stream(prefix, t) {
			return t, true
		}
	}
	return "", false
}

func (f *fakeGateway) handler(prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests++
		n := f.requests
		f.mu.Unlock()
		fail := f.failEvery > 0 && n%f.failEvery == 0
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/topics/"):
			topic := strings.TrimPrefix(r.URL.Path, "/v1/topics/")
			tb, ok := tableOf(topic, prefix)
			if r.Method != http.MethodPost || !ok {
				f.errorf("REST proxy: %s %s", r.Method, r.URL.Path)
				http.Error(w, `{"error_code":40401,"message":"Topic not found."}`, http.StatusNotFound)
				return
			}
			if ct := r.Header.Get("Content-Type"); ct != gateway.ContentTypeJSON {
				f.errorf("REST proxy: content type %q", ct)
			}
			var req struct {
				Records []map[string]json.RawMessage `json:"records"` // every field, to check there is only value
			}
			if err := json.Unmarshal(body, &req); err != nil || len(req.Records) == 0 {
				f.errorf("REST proxy: body %q: %v", body, err)
				return
			}
			if fail {
				http.Error(w, `{"error_code":50003,"message":"retriable"}`, http.StatusServiceUnavailable)
				return
			}
			var ans gateway.ProduceResponse
			for i, rec := range req.Records {
				if len(rec) != 1 || rec["value"] == nil {
					f.errorf("REST proxy: record %v: want only value", rec)
				}
				f.store(tb, "", rec["value"])
				p, o := int32(0), int64(i)
				ans.Offsets = append(ans.Offsets, gateway.ProduceOffset{Partition: &p, Offset: &o})
			}
			w.Header().Set("Content-Type", gateway.ContentTypeAnswer)
			_ = json.NewEncoder(w).Encode(ans)
		case strings.HasPrefix(r.URL.Path, "/prod/streams/"):
			rest := strings.TrimPrefix(r.URL.Path, "/prod/streams/")
			stream, kind, _ := strings.Cut(rest, "/")
			tb, ok := tableOf(stream, prefix)
			if r.Method != http.MethodPut || !ok || (kind != "record" && kind != "records") {
				f.errorf("API Gateway: %s %s", r.Method, r.URL.Path)
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				f.errorf("API Gateway: content type %q", ct)
			}
			if kind == "record" {
				var req gateway.PutRecordRequest
				d := json.NewDecoder(strings.NewReader(string(body)))
				d.DisallowUnknownFields()
				if err := d.Decode(&req); err != nil || req.StreamName != stream || req.PartitionKey == "" || len(req.Data) == 0 {
					f.errorf("API Gateway record: body %q: %v", body, err)
					return
				}
				if fail {
					http.Error(w, "throttled", http.StatusTooManyRequests)
					return
				}
				f.store(tb, req.PartitionKey, req.Data)
				_ = json.NewEncoder(w).Encode(gateway.PutRecordResponse{SequenceNumber: "1", ShardID: "shardId-000000000000"})
				return
			}
			var req gateway.PutRecordsRequest
			d := json.NewDecoder(strings.NewReader(string(body)))
			d.DisallowUnknownFields()
			if err := d.Decode(&req); err != nil || len(req.Records) == 0 || len(req.Records) > 500 {
				f.errorf("API Gateway records: body %.200q: %v", body, err)
				return
			}
			var out []gateway.PutRecordsResult
			failed := 0
			for i, rec := range req.Records {
				if rec.PartitionKey == "" || len(rec.Data) == 0 {
					f.errorf("API Gateway records: entry %d incomplete", i)
				}
				if fail && i%3 == 0 { // throttle a third of the entries
					out = append(out, gateway.PutRecordsResult{ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "slow down"})
					failed++
					continue
				}
				f.store(tb, rec.PartitionKey, rec.Data)
				out = append(out, gateway.PutRecordsResult{SequenceNumber: "1", ShardID: "shardId-000000000000"})
			}
			_ = json.NewEncoder(w).Encode(gateway.PutRecordsResponse{FailedRecordCount: failed, Records: out})
		default:
			f.errorf("unexpected %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
		}
	})
}

func (f *fakeGateway) store(t clean.Table, key string, v json.RawMessage) {
	var m map[string]json.Number
	_ = json.Unmarshal(v, &m)
	k := key
	if k == "" { // the REST Proxy shape has no key: take it from the record
		k = m["index"].String()
		if t != clean.TablePin {
			k = m["ind"].String()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stored = append(f.stored, got{t, k, decoded(f.t, v)})
}

func TestHTTPTargets(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		httpBatch int
		failEvery int
	}{
		{"rest proxy", "/v1/topics/", 0, 0},
		{"rest proxy with 503s", "/v1/topics/", 50, 4},
		{"api gateway records", "/prod/streams/", 0, 0},
		{"api gateway throttled entries", "/prod/streams/", 40, 3},
		{"api gateway single record", "/prod/streams", 1, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := "124a514b9149"
			f := &fakeGateway{t: t, failEvery: tc.failEvery}
			srv := httptest.NewServer(f.handler(p))
			defer srv.Close()
			tg, err := emit.OpenSink(t.Context(), srv.URL+tc.path, emit.SinkOptions{Prefix: p, HTTPBatch: tc.httpBatch})
			if err != nil {
				t.Fatal(err)
			}
			src, err := emit.NewSampleSource(2, 400)
			if err != nil {
				t.Fatal(err)
			}
			const count = 600
			s := runEmitter(t, t.Context(), src, []emit.Target{tg}, emit.Options{Count: count, Seed: 8, BatchRows: 200})
			if s.Sent() != 3*count || s.Failed() != 0 {
				t.Fatalf("stats %+v", s)
			}
			for _, e := range f.errs {
				t.Error(e)
			}
			compare(t, f.stored, expected(t, 2, sample.Posts(8, 400, count)))
			if tc.httpBatch != 1 && f.requests > 3*count/10 {
				t.Errorf("%d requests for %d records: not batched", f.requests, 3*count)
			}
		})
	}
}

// TestHTTPPermanentFailure: a 404 is not retried, and Run reports the
// records as failed with the reason.
func TestHTTPPermanentFailure(t *testing.T) {
	f := &fakeGateway{t: t}
	srv := httptest.NewServer(f.handler("right"))
	defer srv.Close()
	tg, err := emit.OpenSink(t.Context(), srv.URL+"/v1/topics/", emit.SinkOptions{Prefix: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := emit.NewSampleSource(1, 10)
	e, _ := emit.New(src, []emit.Target{tg}, emit.Options{Count: 10})
	err = e.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "HTTP 404") || !strings.Contains(err.Error(), "30 of 30 records failed") {
		t.Fatalf("err = %v", err)
	}
	if f.requests != 3 {
		t.Errorf("%d requests, want 3 (no retry of a 404)", f.requests)
	}
}

// TestRate checks that --rate 200 is never exceeded: at most 300 rows (and
// one batch of 20) in 1.5 s. That the emitter keeps to the schedule rather
// than falling behind depends on the machine's load, so it is not asserted
// here; TestPaceOffset checks the schedule itself.
func TestRate(t *testing.T) {
	f := &fakeGateway{t: t}
	srv := httptest.NewServer(f.handler("r"))
	defer srv.Close()
	tg, err := emit.OpenSink(t.Context(), srv.URL+"/v1/topics/", emit.SinkOptions{Prefix: "r"})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := emit.NewSampleSource(1, 1000)
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	s := runEmitter(t, ctx, src, []emit.Target{tg}, emit.Options{Rate: 200})
	if s.Rows == 0 || s.Rows > 330 {
		t.Errorf("%d rows in 1.5s at 200/s, want 1..330", s.Rows)
	}
	if s.Sent() != 3*s.Rows {
		t.Errorf("sent %d records for %d rows", s.Sent(), s.Rows)
	}
}
