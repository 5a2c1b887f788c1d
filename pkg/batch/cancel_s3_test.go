package batch_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// TestCancelledWhileWriting cancels a run on S3 while it stages its output: a
// proxy holds every staged upload until the run is cancelled, with enough
// workers that no file waits for one, so the run's first error is an upload
// the cancellation cut short. The run returns the cancellation's cause and
// the tables are unchanged: no commit. The cancelled run deletes the files it
// wrote; an upload it gave up on may still complete on the server, as a file
// no snapshot lists (maintenance deletes it). The next run of the date
// publishes the same content (both --full: they read the input again).
func TestCancelledWhileWriting(t *testing.T) {
	env := devstack.Require(t, devstack.S3)
	bucket := env.NewBucket(t)
	src := openStore(t, "s3://"+bucket+"/topics", objstore.Options{})
	land(t, src, handBuilt(), batchtest.Layout{})
	outURL := "s3://" + bucket + "/batch"
	runJob(t, t.Context(), batch.Config{Input: src.URL(""), Prefix: testPrefix, Tables: tablesAt(t, outURL), Date: "2026-11-24"})
	before := readOutput(t, tablesAt(t, outURL), "2026-11-24")

	upstream, err := url.Parse(env.S3Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(upstream) // keeps the Host the request was signed for
	forward.ErrorLog = log.New(io.Discard, "", 0)           // the requests the cancelled run drops
	staging, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/data/") {
			first.Do(func() { close(staging) })
			select { // until the cancelled run drops the request, or the test ends
			case <-r.Context().Done():
			case <-release:
			}
			http.Error(w, "held", http.StatusServiceUnavailable)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close

	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("stopped by the test")
	go func() {
		<-staging
		cancel(stop)
	}()
	_, err = batch.Run(ctx, batch.Config{Input: src.URL(""), Prefix: testPrefix, Tables: tablesAt(t, outURL), Date: "2026-11-24",
		Full: true, Workers: 64, Store: objstore.Options{Endpoint: srv.URL}})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the cancellation's cause", err)
	}
	unchanged(t, before, readOutput(t, tablesAt(t, outURL), "2026-11-24"))

	runJob(t, t.Context(), batch.Config{Input: src.URL(""), Prefix: testPrefix, Tables: tablesAt(t, outURL), Date: "2026-11-24", Full: true})
	sameBytes(t, before, readOutput(t, tablesAt(t, outURL), "2026-11-24"))
}
