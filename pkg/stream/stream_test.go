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

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/stream"
)

// running is a Job running in the background.
type running struct {
	job    *stream.Job
	cancel context.CancelFunc
	done   chan error
}

func startJob(t *testing.T, api kinesisx.API, o stream.Options) *running {
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

func stores(t *testing.T, env devstack.Env) map[string]func(t *testing.T) objstore.Bucket {
	return map[string]func(t *testing.T) objstore.Bucket{
		"file": func(t *testing.T) objstore.Bucket {
			b, err := objstore.Open(t.Context(), t.TempDir(), objstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		"s3": func(t *testing.T) objstore.Bucket {
			b, err := objstore.Open(t.Context(), "s3://"+env.NewBucket(t)+"/out", objstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
}

func TestExactlyOnce(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis|devstack.S3)
	api := kinesisClient(env, env.KinesisEndpoint)
	for name, open := range stores(t, env) {
		t.Run(name, func(t *testing.T) {
			out := open(t)
			s := landing.Stream(uniqueName("t-"), clean.TablePin)
			createStream(t, api, s, 3)
			puts := putAll(t, api, s, pinRecords(1, 0, 1500))
			r := startJob(t, api, stream.Options{Streams: map[clean.Table]string{clean.TablePin: s}, Output: out, FlushRecords: 400})
			puts = append(puts, putAll(t, api, s, pinRecords(1, 1500, 1500))...)
			rows, rejects := expected(puts)
			r.waitStored(t, rows, rejects)
			r.stop(t)
			got := readPins(t, out, "pin")
			checkExactlyOnce(t, got, s, puts)

			// A restart from the checkpoints writes nothing more.
			r2 := startJob(t, api, stream.Options{Streams: map[clean.Table]string{clean.TablePin: s}, Output: out, FlushRecords: 400})
			time.Sleep(time.Second)
			r2.stop(t)
			if st := r2.job.Stats(); st.RecordsIn != 0 || st.Files != 0 {
				t.Errorf("restart read %d records and wrote %d files, want none", st.RecordsIn, st.Files)
			}
			checkQuality(t, readQuality(t, out, stream.DefaultQualityKey).Pin, puts)
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
			out, err := objstore.Open(t.Context(), t.TempDir(), objstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := landing.Stream(uniqueName("t-"), clean.TablePin)
			createStream(t, api, s, 1)
			opts := stream.Options{Streams: map[clean.Table]string{clean.TablePin: s}, Output: out, FlushRecords: 250}
			var r *running
			if !tc.beforeStart {
				r = startJob(t, api, opts)
			}
			puts := putAll(t, api, s, pinRecords(2, 0, 600))
			split(t, api, s, parent)
			puts = append(puts, putAll(t, api, s, pinRecords(2, 600, 600))...)
			merge(t, api, s, left, right)
			puts = append(puts, putAll(t, api, s, pinRecords(2, 1200, 600))...)
			if tc.beforeStart {
				r = startJob(t, api, opts)
			}
			rows, rejects := expected(puts)
			r.waitStored(t, rows, rejects)
			r.stop(t)
			checkExactlyOnce(t, readPins(t, out, "pin"), s, puts)
			shards := map[string]int{}
			for _, p := range puts {
				shards[p.Shard]++
			}
			if len(shards) != 4 {
				t.Errorf("records went to shards %v, want 4 shards", shards)
			}
			for _, id := range []string{parent, left, right} {
				cp := readCheckpoint(t, out, s, id)
				if !cp.Closed || cp.Pending != nil {
					t.Errorf("checkpoint of %s = %+v, want closed", id, cp)
				}
			}
			checkQuality(t, r.job.QualityReport().Quality.Pin, puts) // closed shards included
			if st := r.job.Stats(); st.ShardsDone != 3 {
				t.Errorf("shards finished = %d, want 3", st.ShardsDone)
			}
		})
	}
}

func readCheckpoint(t *testing.T, b objstore.Bucket, s, shard string) stream.Checkpoint {
	t.Helper()
	var cp stream.Checkpoint
	data := get(t, b, objstore.Join(stream.DefaultCheckpointPrefix, s, shard+".json"))
	if err := jsonUnmarshal(data, &cp); err != nil {
		t.Fatal(err)
	}
	return cp
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
	out, err := objstore.Open(t.Context(), t.TempDir(), objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := landing.Stream(uniqueName("t-"), clean.TablePin)
	createStream(t, api, s, 2)
	metrics, err := stream.NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	puts := putAll(t, api, s, pinRecords(3, 0, 500))
	r := startJob(t, proxied, stream.Options{Streams: map[clean.Table]string{clean.TablePin: s}, Output: out,
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
	checkExactlyOnce(t, readPins(t, out, "pin"), s, puts)
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

// TestPendingFlushReplay simulates a crash after a flush stored its files
// but before its checkpoint: the restarted job, with a smaller flush size,
// must cut its first flush where the crashed one did, or the crashed
// flush's quarantine file would keep rejects that are written again.
func TestPendingFlushReplay(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis)
	api := kinesisClient(env, env.KinesisEndpoint)
	out, err := objstore.Open(t.Context(), t.TempDir(), objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := landing.Stream(uniqueName("t-"), clean.TablePin)
	createStream(t, api, s, 1)
	puts := putAll(t, api, s, pinRecords(4, 0, 120)) // rejects at 29 and 31
	opts := stream.Options{Streams: map[clean.Table]string{clean.TablePin: s}, Output: out, FlushRecords: 120, FlushInterval: time.Minute}
	r := startJob(t, api, opts)
	rows, rejects := expected(puts)
	r.waitStored(t, rows, rejects)
	r.stop(t)
	shard := puts[0].Shard
	cp := readCheckpoint(t, out, s, shard)
	if cp.Sequence != puts[119].Seq {
		t.Fatalf("checkpoint %+v, want sequence %s", cp, puts[119].Seq)
	}
	checkQuality(t, readQuality(t, out, stream.DefaultQualityKey).Pin, puts)
	// Back to the moment after the intent and the files, before the checkpoint.
	cp.Sequence = ""
	cp.Quality = nil
	cp.Pending = &stream.Range{First: puts[0].Seq, Last: puts[119].Seq}
	writeCheckpoint(t, out, cp)

	puts = append(puts, putAll(t, api, s, pinRecords(4, 120, 80))...)
	opts.FlushRecords = 7
	opts.FlushInterval = 200 * time.Millisecond
	r = startJob(t, api, opts)
	rows, rejects = expected(puts)
	r.waitStored(t, rows, rejects)
	r.stop(t)
	checkExactlyOnce(t, readPins(t, out, "pin"), s, puts)
	checkQuality(t, readQuality(t, out, stream.DefaultQualityKey).Pin, puts) // the replayed flush counted once
}
