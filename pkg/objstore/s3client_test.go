package objstore

import (
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// fakeS3 answers HeadBucket and GetObject (a fixed body) for any bucket and
// key, and counts the connections clients open to it.
type fakeS3 struct {
	srv   *httptest.Server
	conns atomic.Int64
	// hold, when set, is called by each GetObject before it answers.
	hold func()
}

const fakeS3Body = `{"index":1}` + "\n"

func newFakeS3(t *testing.T, tls bool) *fakeS3 {
	t.Helper()
	f := &fakeS3{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 {
			if f.hold != nil {
				f.hold()
			}
			w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = io.WriteString(w, fakeS3Body)
			return
		}
		if r.Method == http.MethodHead { // HeadBucket
			return
		}
		http.Error(w, "unexpected request", http.StatusBadRequest)
	})
	f.srv = httptest.NewUnstartedServer(h)
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	if tls {
		f.srv.StartTLS()
	} else {
		f.srv.Start()
	}
	t.Cleanup(f.srv.Close)
	return f
}

// TestS3ReusesConnections checks that more concurrent requests than the
// SDK's default idle pool (10 per host) reuse their connections instead of
// dialling new ones for every request.
func TestS3ReusesConnections(t *testing.T) {
	setAWSEnv(t, "", "", "")
	f := newFakeS3(t, false)
	const n = 40 // requests in flight at once, each on its own connection
	var (
		mu      sync.Mutex
		arrived int
		all     = make(chan struct{})
	)
	f.hold = func() { // answer once all n requests of a round have arrived
		mu.Lock()
		arrived++
		if arrived == n {
			arrived = 0
			close(all)
			all = make(chan struct{})
			mu.Unlock()
			return
		}
		wait := all
		mu.Unlock()
		select {
		case <-wait:
		case <-time.After(30 * time.Second): // let a broken test fail, not hang
		}
	}
	b, err := Open(t.Context(), "s3://bkt/p", Options{Endpoint: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				rc, err := b.Get(t.Context(), "topic/partition=0/k.json")
				if err != nil {
					t.Error(err)
					return
				}
				defer rc.Close()
				if got, err := io.ReadAll(rc); err != nil || string(got) != fakeS3Body {
					t.Errorf("Get = %q, %v", got, err)
				}
			})
		}
		wg.Wait()
		if got := f.conns.Load(); got > n {
			t.Fatalf("after round %d of %d concurrent Gets: %d connections opened, want at most %d", round+1, n, got, n)
		}
	}
}

// TestS3KeepsCustomCABundle checks that raising the idle pool keeps the HTTP
// client the AWS configuration built (here: trusting AWS_CA_BUNDLE).
func TestS3KeepsCustomCABundle(t *testing.T) {
	setAWSEnv(t, "", "", "")
	f := newFakeS3(t, true)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(bundle, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	b, err := Open(t.Context(), "s3://bkt/p", Options{Endpoint: f.srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(t.Context(), b); err != nil {
		t.Fatalf("Check over TLS with the server's certificate in AWS_CA_BUNDLE: %v", err)
	}
	bc, ok := b.(*s3Bucket).client.Options().HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		t.Fatalf("HTTP client is %T, want *awshttp.BuildableClient", b.(*s3Bucket).client.Options().HTTPClient)
	}
	if got := bc.GetTransport().MaxIdleConnsPerHost; got < idleConnsPerHost {
		t.Errorf("MaxIdleConnsPerHost = %d, want >= %d", got, idleConnsPerHost)
	}
}
