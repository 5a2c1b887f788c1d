package batch_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

func TestEmptyInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	res := runJob(t, t.Context(), batch.Config{Input: dir, Prefix: testPrefix, Output: out, Date: "2026-11-24"})
	if want := []string{testPrefix + ".pin", testPrefix + ".geo", testPrefix + ".user"}; !slices.Equal(res.EmptyTopics, want) {
		t.Errorf("EmptyTopics = %v, want %v", res.EmptyTopics, want)
	}
	o := readOutput(t, openStore(t, out, objstore.Options{}), "2026-11-24")
	if len(o.pins)+len(o.geos)+len(o.users) != 0 {
		t.Errorf("clean tables are not empty")
	}
	for _, name := range insights.Names() {
		if rows := o.insights[name]; len(rows) != 1 { // the header only
			t.Errorf("%s = %v, want no rows", name, rows)
		}
	}
	for _, tb := range clean.Tables {
		if !slices.Contains(o.files, batch.CleanDir(tb)+batch.PartName(0)) {
			t.Errorf("no %s file for an empty table", batch.CleanDir(tb))
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := writeFile(notDir); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     batch.Config
		wantErr string
	}{
		{"missing input", batch.Config{Input: filepath.Join(dir, "nope"), Prefix: testPrefix, Output: dir}, "does not exist"},
		{"unwritable output", batch.Config{Input: dir, Prefix: testPrefix, Output: filepath.Join(notDir, "out")}, "not a directory"},
		{"bad date", batch.Config{Input: dir, Prefix: testPrefix, Output: dir, Date: "2026-02-30"}, "YYYY-MM-DD"},
		{"no prefix", batch.Config{Input: dir, Output: dir}, "prefix is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := batch.Run(t.Context(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func writeFile(p string) error {
	b := openBucketDir(filepath.Dir(p))
	return b.Put(context.Background(), filepath.Base(p), bytes.NewReader([]byte("x")))
}

func openBucketDir(dir string) objstore.Bucket {
	b, _ := objstore.Open(context.Background(), dir, objstore.Options{})
	return b
}

// TestCancelledRunPublishesNothing publishes a run, then cancels a second run
// over more input while it reads: the second run returns the cancellation's
// cause and the first run stays published as it was.
func TestCancelledRunPublishesNothing(t *testing.T) {
	dir := t.TempDir()
	small := openStore(t, filepath.Join(dir, "small"), objstore.Options{})
	land(t, small, handBuilt(), batchtest.Layout{})
	big := openStore(t, filepath.Join(dir, "big"), objstore.Options{})
	land(t, big, generated(20000, 5000), batchtest.Layout{PerObject: 20})
	outDir := filepath.Join(dir, "out")
	out := openStore(t, outDir, objstore.Options{})
	runJob(t, t.Context(), batch.Config{Input: small.URL(""), Prefix: testPrefix, Output: outDir, Date: "2026-11-24"})
	before := readOutput(t, out, "2026-11-24")

	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("stopped by the test")
	progress := new(batch.Progress)
	go func() {
		for progress.ObjectsDone.Load() < 50 {
			time.Sleep(time.Millisecond)
		}
		cancel(stop)
	}()
	_, err := batch.Run(ctx, batch.Config{Input: big.URL(""), Prefix: testPrefix, Output: outDir, Date: "2026-11-24", Concurrency: 2, Progress: progress})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the cancellation's cause", err)
	}
	unchanged(t, before, readOutput(t, out, "2026-11-24"))
	if left, _ := out.List(t.Context(), "_staging/"); len(left) > 0 {
		t.Errorf("staging files left: %v", left)
	}
}
