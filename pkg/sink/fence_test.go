package sink

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/landtest"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// slowEndpoint is an S3 endpoint in front of another that, while holding,
// keeps every PUT until released and then sends it on, whether or not its
// client is still waiting: the request lands late, as one held by a slow
// network or a loaded server does.
type slowEndpoint struct {
	upstream string
	mu       sync.Mutex
	holding  bool
	release  chan struct{}
	held     chan struct{} // gets a value per held request
	late     sync.WaitGroup
	statuses []int // of the held requests, once sent on
}

func newSlowEndpoint(t *testing.T, upstream string) (*slowEndpoint, string) {
	e := &slowEndpoint{upstream: upstream, release: make(chan struct{}), held: make(chan struct{}, 64)}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return e, srv.URL
}

func (e *slowEndpoint) hold() {
	e.mu.Lock()
	e.holding = true
	e.mu.Unlock()
}

// sendHeld sends the held requests on and waits for their answers.
func (e *slowEndpoint) sendHeld() []int {
	e.mu.Lock()
	e.holding = false
	e.mu.Unlock()
	close(e.release)
	e.late.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.statuses
}

func (e *slowEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	e.mu.Lock()
	hold := e.holding && r.Method == http.MethodPut
	if hold {
		e.late.Add(1)
	}
	e.mu.Unlock()
	out, err := http.NewRequestWithContext(context.Background(), r.Method, e.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host // signed
	out.ContentLength = int64(len(body))
	if hold {
		e.held <- struct{}{}
		go func() { // the client may give up; the request still lands
			defer e.late.Done()
			<-e.release
			resp, err := http.DefaultClient.Do(out)
			status := 0
			if err == nil {
				status = resp.StatusCode
				resp.Body.Close()
			}
			e.mu.Lock()
			e.statuses = append(e.statuses, status)
			e.mu.Unlock()
		}()
		select {
		case <-r.Context().Done():
		case <-e.release:
			http.Error(w, "sent late", http.StatusGatewayTimeout)
		}
		return
	}
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// TestDepartingInstanceOnS3 is the review's scenario against Kafka and S3
// servers: instance A is stopped while an endpoint holds its writes, so its
// final partial object [20,25) is still on its way when instance B takes
// the partition at the committed offset 20, stores [20,30) and commits 30.
// A's PUT then reaches S3. It was presigned to expire with A's lease, which
// ended before B could own the partition: S3 refuses it, and B's object
// stays.
func TestDepartingInstanceOnS3(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ctx := t.Context()
	env := devstack.Require(t, devstack.S3)
	bucketName := env.NewBucket(t)
	slow, slowURL := newSlowEndpoint(t, env.S3Endpoint)
	viaSlow, err := objstore.OpenConditional(ctx, "s3://"+bucketName+"/topics", objstore.Options{Endpoint: slowURL})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := objstore.OpenConditional(ctx, "s3://"+bucketName+"/topics", objstore.Options{Endpoint: env.S3Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	const topic = "f.pin"
	brokers := newCluster(t, 1, topic)
	produce(t, ctx, brokers, topic, 0, 20)

	mA := NewMetrics(prometheus.NewRegistry())
	cfg := Config{Brokers: brokers, Topics: []string{topic}, Group: "g", FlushSize: 10, ShutdownTimeout: time.Second, Metrics: mA}
	stopA := runSink(t, ctx, cfg, viaSlow)
	landtest.WaitLanded(t, ctx, direct, topic, 20)
	waitLandedMetric(t, mA, topic, 20) // [0,10) and [10,20) committed
	produce(t, ctx, brokers, topic, 20, 5)
	waitFetched(t, mA, topic, 25)
	slow.hold()
	stopA() // stores the partial [20,25): held; A gives up after a second and leaves once its lease is over
	select {
	case <-slow.held:
	default:
		t.Fatal("A's partial object was not held")
	}

	produce(t, ctx, brokers, topic, 25, 5)
	mB := NewMetrics(prometheus.NewRegistry())
	cfg.Metrics = mB
	stopB := runSink(t, ctx, cfg, direct)
	waitLandedMetric(t, mB, topic, 10) // [20,30) committed
	stopB()

	statuses := slow.sendHeld() // A's PUT lands now
	for _, s := range statuses {
		if s != http.StatusForbidden {
			t.Errorf("A's late PUT got HTTP %d, want 403 (expired)", s)
		}
	}
	got, _ := landtest.Landed(t, ctx, direct, topic)
	landtest.AssertSame(t, topic, landtest.PartitionLog(t, ctx, brokers, topic), got)
}
