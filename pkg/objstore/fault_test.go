package objstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// faultProxy forwards S3 requests to upstream and breaks a share of them:
// a 500 before forwarding, a 500 after the upstream did the work, or a
// connection closed half-way through the response body.
type faultProxy struct {
	upstream  *url.URL
	transport *http.Transport

	mu                          sync.Mutex
	rng                         *rand.Rand
	failBefore, failAfter, drop float64 // probabilities

	fails, drops, objectDrops, listDrops atomic.Int64
	forceListDrops                       atomic.Int64 // break the next n List bodies
}

func newFaultProxy(t *testing.T, upstream string) *faultProxy {
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{
		upstream:   u,
		transport:  &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16},
		failBefore: 0.12,
		failAfter:  0.08,
		drop:       0.25,
		rng:        rand.New(rand.NewPCG(7, 11)),
	}
	t.Cleanup(p.transport.CloseIdleConnections)
	return p
}

// chance reports true with the probability *prob, read under the lock.
func (p *faultProxy) chance(prob *float64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rng.Float64() < *prob
}

func (p *faultProxy) setRates(failBefore, failAfter, drop float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failBefore, p.failAfter, p.drop = failBefore, failAfter, drop
}

func (p *faultProxy) intN(n int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rng.IntN(n)
}

const injectedError = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected by the test proxy</Message></Error>`

func (p *faultProxy) fail(w http.ResponseWriter) {
	p.fails.Add(1)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, injectedError)
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.chance(&p.failBefore) {
		io.Copy(io.Discard, r.Body)
		p.fail(w)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = p.upstream.Scheme
	out.URL.Host = p.upstream.Host
	out.Host = r.Host // the signature covers the Host the client used
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if p.chance(&p.failAfter) {
		p.fail(w)
		return
	}
	isList := r.URL.Query().Has("list-type")
	forced := isList && len(body) >= 2 && p.forceListDrops.Add(-1) >= 0
	if forced || r.Method != http.MethodHead && len(body) >= 2 && p.chance(&p.drop) {
		p.drops.Add(1)
		if isList {
			p.listDrops.Add(1)
		} else if r.Method == http.MethodGet && resp.StatusCode/100 == 2 {
			p.objectDrops.Add(1)
		}
		p.dropMidBody(w, resp, body)
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// dropMidBody sends the headers (with the full Content-Length) and part of
// the body, then closes the connection.
func (p *faultProxy) dropMidBody(w http.ResponseWriter, resp *http.Response, body []byte) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	h := resp.Header.Clone()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("Transfer-Encoding")
	fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	h.Write(rw)
	rw.WriteString("\r\n")
	rw.Write(body[:1+p.intN(len(body)-1)])
	rw.Flush()
}

func TestS3Faults(t *testing.T) {
	env := requireS3(t)
	proxy := newFaultProxy(t, env.Endpoint)
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)

	direct, err := Open(t.Context(), "s3://"+env.Bucket+"/faults", Options{Endpoint: env.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	// 15 attempts: about one request in three is broken on purpose.
	flaky, err := Open(t.Context(), "s3://"+env.Bucket+"/faults", Options{Endpoint: srv.URL, MaxAttempts: 15, Logger: log})
	if err != nil {
		t.Fatal(err)
	}

	// List over several pages, seeded without faults.
	flaky.(*s3Bucket).maxKeys = 100
	many := make([]string, 250)
	for i := range many {
		many[i] = fmt.Sprintf("many/partition=%d/pin+%d+%010d.json", i%2, i%2, i)
	}
	putAll(t, direct, many, func(k string) string { return k })
	slices.Sort(many)
	proxy.forceListDrops.Store(2)
	for range 3 {
		if got := listKeys(t, flaky, "many/"); !slices.Equal(got, many) {
			t.Fatalf("List through faults: %d keys, want %d (first diff at %d)", len(got), len(many), firstDiff(got, many))
		}
	}

	// Put and Get objects of many sizes through faults.
	rng := rand.New(rand.NewPCG(3, 4))
	contents := map[string][]byte{}
	var keys []string
	for i := range 40 {
		size := rng.IntN(300 << 10)
		if i == 0 {
			size = 4 << 20
		}
		if i == 1 {
			size = 0
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		k := fmt.Sprintf("objs/partition=%d/obj+%d+%010d.json", i%3, i%3, i)
		contents[k] = data
		keys = append(keys, k)
	}
	putAll(t, flaky, keys, func(k string) string { return string(contents[k]) })
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Go(func() {
			for _, b := range []Bucket{flaky, direct} {
				rc, err := b.Get(t.Context(), k)
				if err != nil {
					t.Errorf("Get(%q): %v", k, err)
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Errorf("reading %q: %v", k, err)
					return
				}
				if !bytes.Equal(got, contents[k]) {
					t.Errorf("Get(%q) = %d bytes, want %d identical", k, len(got), len(contents[k]))
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(keys)
	if got := listKeys(t, flaky, "objs/"); !slices.Equal(got, keys) {
		t.Errorf("List(objs/) = %d keys, want %d", len(got), len(keys))
	}

	// Copy, Delete and a missing key through faults.
	c := flaky.(Copier)
	if err := c.Copy(t.Context(), keys[5], "copied/x+1=2.json"); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, direct, "copied/x+1=2.json"); got != string(contents[keys[5]]) {
		t.Errorf("copied object differs")
	}
	for range 5 {
		if err := flaky.Delete(t.Context(), "copied/x+1=2.json"); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		if _, err := flaky.Get(t.Context(), "copied/x+1=2.json"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(deleted) = %v, want ErrNotFound", err)
		}
	}

	t.Logf("injected: %d 500s, %d dropped bodies (%d object, %d list)",
		proxy.fails.Load(), proxy.drops.Load(), proxy.objectDrops.Load(), proxy.listDrops.Load())
	if proxy.fails.Load() == 0 || proxy.objectDrops.Load() == 0 || proxy.listDrops.Load() == 0 {
		t.Errorf("the proxy injected too few faults to test anything")
	}
}

// TestS3ResumeGivesUp checks that a body that cannot be resumed ends in an
// error, not in silently short content.
func TestS3ResumeGivesUp(t *testing.T) {
	env := requireS3(t)
	direct, err := Open(t.Context(), "s3://"+env.Bucket, Options{Endpoint: env.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	data := strings.Repeat("x", 1<<20)
	mustPut(t, direct, "k", data)
	proxy := newFaultProxy(t, env.Endpoint)
	proxy.setRates(0, 0, 1) // the first body breaks...
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	flaky, err := Open(t.Context(), "s3://"+env.Bucket, Options{Endpoint: srv.URL, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := flaky.Get(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	proxy.setRates(1, 0, 1) // ...and every later request fails
	got, err := io.ReadAll(rc)
	if err == nil {
		t.Fatalf("read %d bytes with no error from a body that always breaks", len(got))
	}
	if !strings.Contains(err.Error(), "s3://"+env.Bucket+"/k") {
		t.Errorf("error %q does not name the object", err)
	}
}
