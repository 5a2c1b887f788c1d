package batch_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}

// fileRun runs the job over in on the file store and returns its output.
func fileRun(t *testing.T, in topics, layout batchtest.Layout) output {
	t.Helper()
	dir := t.TempDir()
	src := openStore(t, filepath.Join(dir, "topics"), objstore.Options{})
	land(t, src, in, layout)
	runJob(t, t.Context(), batch.Config{Input: src.URL(""), Prefix: testPrefix, Tables: tablesAt(t, filepath.Join(dir, "out")), Date: "2026-11-24"})
	return readOutput(t, tablesAt(t, filepath.Join(dir, "out")), "2026-11-24")
}

func TestS3(t *testing.T) {
	env := devstack.Require(t, devstack.S3)
	in := fixture(t)
	want := fileRun(t, in, batchtest.Layout{})

	for _, layout := range []batchtest.Layout{{PerObject: 7, Partitions: 3, Gzip: true}, {PerObject: 10000}} {
		t.Run(fmt.Sprintf("per=%d/gzip=%v", layout.PerObject, layout.Gzip), func(t *testing.T) {
			bucket := env.NewBucket(t)
			src := openStore(t, "s3://"+bucket+"/topics", objstore.Options{})
			land(t, src, in, layout)
			outURL := "s3://" + bucket + "/batch"
			runJob(t, t.Context(), batch.Config{Input: src.URL(""), Prefix: testPrefix, Tables: tablesAt(t, outURL), Date: "2026-11-24", RowsPerFile: 100})
			first := readOutput(t, tablesAt(t, outURL), "2026-11-24")
			sameRows(t, want, first)

			// A --full re-run with larger files replaces the previous run:
			// the part files it does not write any more are deleted.
			runJob(t, t.Context(), batch.Config{Input: src.URL(""), Prefix: testPrefix, Tables: tablesAt(t, outURL), Date: "2026-11-24", Full: true})
			second := readOutput(t, tablesAt(t, outURL), "2026-11-24")
			sameRows(t, want, second)
			for _, f := range second.files {
				if strings.HasSuffix(f, "part-00001.parquet") {
					t.Errorf("%s of the previous run is still published", f)
				}
			}
			for table, run := range second.runs {
				if run == "" || run == first.runs[table] {
					t.Errorf("table %s: the current snapshot is of run %q, want the second run's", table, run)
				}
			}
		})
	}

	t.Run("missing bucket", func(t *testing.T) {
		_, err := batch.Run(t.Context(), batch.Config{Input: "s3://no-such-bucket-pinpipe/topics", Prefix: testPrefix, Tables: tablesAt(t, t.TempDir()), Date: "2026-11-24"})
		if err == nil || !strings.Contains(err.Error(), "no-such-bucket-pinpipe") {
			t.Errorf("err = %v, want an error naming the bucket", err)
		}
	})
}

// faultProxy forwards S3 requests to upstream, answers some with a 500 and
// cuts some object bodies in the middle.
type faultProxy struct {
	upstream  string
	client    *http.Client
	n         atomic.Int64
	errors500 atomic.Int64
	cuts      atomic.Int64
	// cutFirst, when set, answers no 500 and cuts the first GET of every
	// object instead.
	cutFirst bool
	seen     sync.Map
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := p.n.Add(1)
	if n%5 == 0 && !p.cutFirst {
		p.errors500.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected</Message></Error>`)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	req.Host = r.Host // the request is signed for the proxy's host
	req.ContentLength = r.ContentLength
	resp, err := p.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	// GetObject: a GET of /bucket/key (the SDK adds ?x-id=GetObject), not a listing.
	isObject := r.Method == http.MethodGet && !strings.Contains(r.URL.RawQuery, "list-type") &&
		strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 && resp.StatusCode/100 == 2
	cut := n%3 == 1
	if p.cutFirst {
		_, seen := p.seen.LoadOrStore(r.URL.Path, true)
		cut = !seen
	}
	if isObject && cut && resp.ContentLength > 8 {
		p.cuts.Add(1)
		io.CopyN(w, resp.Body, resp.ContentLength/2)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drops the connection mid-body
	}
	io.Copy(w, resp.Body)
}

// TestS3Faults reads through a proxy that fails requests and cuts bodies.
// With the store's retries, the store resumes the bodies; with a single
// attempt per request, the job reads the objects again from their start and
// must not count their first lines twice.
func TestS3Faults(t *testing.T) {
	env := devstack.Require(t, devstack.S3)
	in := fixture(t)
	layout := batchtest.Layout{PerObject: 50, Partitions: 3, Gzip: true}
	want := fileRun(t, in, layout)

	bucket := env.NewBucket(t)
	land(t, openStore(t, "s3://"+bucket+"/topics", objstore.Options{}), in, layout)
	for _, tc := range []struct {
		name        string
		cutFirst    bool
		maxAttempts int
	}{
		{"store retries", false, 10},
		{"job re-reads objects", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp := &faultProxy{upstream: env.S3Endpoint, client: &http.Client{Transport: &http.Transport{DisableCompression: true}}, cutFirst: tc.cutFirst}
			srv := httptest.NewServer(fp)
			t.Cleanup(srv.Close)
			opts := objstore.Options{Endpoint: srv.URL, MaxAttempts: tc.maxAttempts}
			outURL := "s3://" + bucket + "/batch-" + strings.ReplaceAll(tc.name, " ", "-")
			runJob(t, t.Context(), batch.Config{Input: "s3://" + bucket + "/topics", Prefix: testPrefix, Tables: tablesAt(t, outURL), Date: "2026-11-24", Store: opts})
			got := readOutput(t, tablesAt(t, outURL), "2026-11-24")
			sameRows(t, want, got)
			if fp.cuts.Load() == 0 || (!tc.cutFirst && fp.errors500.Load() == 0) {
				t.Errorf("the proxy injected %d errors and %d cuts, want some", fp.errors500.Load(), fp.cuts.Load())
			}
			t.Logf("%d requests, %d answered 500, %d bodies cut", fp.n.Load(), fp.errors500.Load(), fp.cuts.Load())
		})
	}
}
