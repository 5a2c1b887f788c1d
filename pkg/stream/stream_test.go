package stream_test

import (
	"context"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/tabletest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/stream"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// running is a Job running in the background.
type running struct {
	job    *stream.Job
	cancel context.CancelFunc
	done   chan error
}

func startRunning(t *testing.T, api kinesisx.API, o stream.Options) *running {
	t.Helper()
	if o.FlushInterval == 0 {
		o.FlushInterval = 300 * time.Millisecond
	}
	if o.MinInterval == 0 {
		o.MinInterval = 50 * time.Millisecond
	}
	if o.DiscoverInterval == 0 {
		o.DiscoverInterval = 500 * time.Millisecond
	}
	o.SourceColumns = true
	o.CommitInterval = 50 * time.Millisecond
	job, err := stream.New(api, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{job: job, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- job.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the job and waits for Run to return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return 15s after cancel")
	}
}

// waitStored waits until the job has stored n rows and rejects.
func (r *running) waitStored(t *testing.T, rows, rejects int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := r.job.Stats()
		if st.RowsOut >= int64(rows) && st.Rejected >= int64(rejects) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: stored %d rows and %d rejects, want %d and %d (stats %+v)", st.RowsOut, st.Rejected, rows, rejects, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestExactlyOnce(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis)
	api := kinesisClient(env, env.KinesisEndpoint)
	for _, tc := range []struct {
		name string
		open catalogs
	}{{"sqlite-file", sqliteCatalogs}, {"postgres-s3", postgresCatalogs}} {
		t.Run(tc.name, func(t *testing.T) {
			open := tc.open(t).plain
			cat := open()
			s := landing.Stream(uniqueName("t-"), clean.TablePin)
			createStream(t, api, s, 3)
			puts := putAll(t, api, s, pinRecords(1, 0, 1500))
			r := startRunning(t, api, stream.Options{Streams: map[clean.Table]string{clean.TablePin: s}, Tables: cat, FlushRecords: 400})
			puts = append(puts, putAll(t, api, s, pinRecords(1, 1500, 1500))...)
			rows, rejects := expected(puts)
			r.waitStored(t, rows, rejects)
			r.stop(t)
			got := readPins(t, open())
			checkExactlyOnce(t, got, s, puts)

			// A restart from the committed positions reads nothing more:
			// once every shard had a GetRecords, it is stopped.
			m, err := stream.NewMetrics(nil)
			if err != nil {
				t.Fatal(err)
			}
			r2 := startRunning(t, api, stream.Options{Streams: map[clean.Table]string{clean.TablePin: s}, Tables: open(), FlushRecords: 400, Metrics: m})
			deadline := time.Now().Add(30 * time.Second)
			for testutil.CollectAndCount(m.MillisBehind) < 3 {
				if time.Now().After(deadline) {
					t.Fatal("the restart had no GetRecords on every shard after 30s")
				}
				time.Sleep(10 * time.Millisecond)
			}
			r2.stop(t)
			if st := r2.job.Stats(); st.RecordsIn != 0 || st.Files != 0 {
				t.Errorf("restart read %d records and wrote %d files, want none", st.RecordsIn, st.Files)
			}
			checkQuality(t, readQuality(t, open(), tables.StreamDef(clean.TablePin, true)), puts)
		})
	}
}

// maxHash is 2^128-1, the top of the hash key space.
var maxHash = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))

func split(t *testing.T, api *kinesis.Client, s, shard string) {
	t.Helper()
	mid := new(big.Int).Rsh(maxHash, 1)
	if _, err := api.SplitShard(t.Context(), &kinesis.SplitShardInput{StreamName: aws.String(s), ShardToSplit: aws.String(shard),
		NewStartingHashKey: aws.String(mid.String())}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	waitActive(t, api, s)
}

func merge(t *testing.T, api *kinesis.Client, s, a, b string) {
	t.Helper()
	if _, err := api.MergeShards(t.Context(), &kinesis.MergeShardsInput{StreamName: aws.String(s), ShardToMerge: aws.String(a),
		AdjacentShardToMerge: aws.String(b)}); err != nil {
		t.Fatalf("MergeShards: %v", err)
	}
	waitActive(t, api, s)
}

func TestResharding(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis)
	api := kinesisClient(env, env.KinesisEndpoint)
	const (
		parent = "shardId-000000000000"
		left   = "shardId-000000000001"
		right  = "shardId-000000000002"
		merged = "shardId-000000000003"
	)
	tests := []struct {
		name        string
		beforeStart bool // reshard before the job starts (the closed parents hold unread records)
	}{
		{"during run", false},
		{"before start", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cat := tabletest.OpenSQLite(t, t.TempDir())
			s := landing.Stream(uniqueName("t-"), clean.TablePin)
			createStream(t, api, s, 1)
			opts := stream.Options{Streams: map[clean.Table]string{clean.TablePin: s}, Tables: cat, FlushRecords: 250}
			var r *running
			if !tc.beforeStart {
				r = startRunning(t, api, opts)
			}
			puts := putAll(t, api, s, pinRecords(2, 0, 600))
			split(t, api, s, parent)
			puts = append(puts, putAll(t, api, s, pinRecords(2, 600, 600))...)
			merge(t, api, s, left, right)
			puts = append(puts, putAll(t, api, s, pinRecords(2, 1200, 600))...)
			if tc.beforeStart {
				r = startRunning(t, api, opts)
			}
			rows, rejects := expected(puts)
			r.waitStored(t, rows, rejects)
			r.stop(t)
			checkExactlyOnce(t, readPins(t, cat), s, puts)
			shards := map[string]int{}
			for _, p := range puts {
				shards[p.Shard]++
			}
			if len(shards) != 4 {
				t.Errorf("records went to shards %v, want 4 shards", shards)
			}
			if ok, err := closed(t.Context(), cat, s, []string{parent, left, right}); !ok || err != nil {
				t.Errorf("the parents are not closed in both tables (%v)", err)
			}
			checkQuality(t, r.job.QualityReport().Quality.Pin, puts) // closed shards included
			if st := r.job.Stats(); st.ShardsDone != 3 {
				t.Errorf("shards finished = %d, want 3", st.ShardsDone)
			}
		})
	}
}

// faultProxy forwards to the Kinesis server, answering some GetRecords
// calls with ProvisionedThroughputExceededException and some with
// ExpiredIteratorException, as the real service does and the stand-in never.
type faultProxy struct {
	calls, throttled, expired atomic.Int64
}

func (f *faultProxy) start(t *testing.T, target string) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		if strings.HasSuffix(op, ".GetRecords") || strings.HasSuffix(op, ".GetShardIterator") {
			n := f.calls.Add(1)
			switch {
			case n%3 == 0:
				f.throttled.Add(1)
				fault(w, "ProvisionedThroughputExceededException", "Rate exceeded for shard in stream under account.")
				return
			case n%7 == 0 && strings.HasSuffix(op, ".GetRecords"):
				f.expired.Add(1)
				fault(w, "ExpiredIteratorException", "Iterator expired.")
				return
			case n%11 == 0:
				fault(w, "LimitExceededException", "Rate exceeded.")
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func fault(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"__type":"` + typ + `","message":"` + msg + `"}`))
}

func TestThrottlingAndExpiredIterators(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis)
	api := kinesisClient(env, env.KinesisEndpoint)
	var fp faultProxy
	proxied := kinesisClient(env, fp.start(t, env.KinesisEndpoint))
	cat := tabletest.OpenSQLite(t, t.TempDir())
	s := landing.Stream(uniqueName("t-"), clean.TablePin)
	createStream(t, api, s, 2)
	metrics, err := stream.NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	puts := putAll(t, api, s, pinRecords(3, 0, 500))
	r := startRunning(t, proxied, stream.Options{Streams: map[clean.Table]string{clean.TablePin: s}, Tables: cat,
		FlushRecords: 60, Metrics: metrics})
	var mu sync.Mutex
	for i := range 5 {
		p := putAll(t, api, s, pinRecords(3, 500+i*100, 100))
		mu.Lock()
		puts = append(puts, p...)
		mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	rows, rejects := expected(puts)
	r.waitStored(t, rows, rejects)
	r.stop(t)
	checkExactlyOnce(t, readPins(t, cat), s, puts)
	if fp.throttled.Load() == 0 || fp.expired.Load() == 0 {
		t.Fatalf("proxy injected %d throttles and %d expiries, want some of each", fp.throttled.Load(), fp.expired.Load())
	}
	if got := testutilValue(metrics.Throttled.WithLabelValues(s)); got == 0 {
		t.Error("throttled_total is 0")
	}
	if got := testutilValue(metrics.ExpiredIters.WithLabelValues(s)); got == 0 {
		t.Error("expired_iterators_total is 0")
	}
}
