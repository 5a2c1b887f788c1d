package batch_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// TestOverlappingObjects lands objects that hold the same offsets (a topic
// landed twice with different cuts, .json next to .json.gz). A row at an
// offset held by several objects comes from the object with the greatest
// key, whatever the order in which the objects are listed and read: on the
// file store and on S3, with 1 and 16 objects
// read at the same time.
func TestOverlappingObjects(t *testing.T) {
	topic := landing.Topic(testPrefix, clean.TablePin)
	name := func(start int64, gz bool) string {
		return landing.Key{Topic: topic, Start: start, Gzip: gz}.String()
	}
	objects := map[string][]string{
		// offsets 0 and 1
		name(0, false): {pinLine(1, "from-0-json", "Ann", "1"), pinLine(2, "from-0-json", "Bob", "2")},
		// the same offsets again, gzipped: wins over .json for both
		name(0, true): {pinLine(1, "from-0-gz", "Ann", "1"), pinLine(2, "from-0-gz", "Bob", "2")},
		// offset 1 again: the greatest key of the three holding it
		name(1, false): {pinLine(2, "from-1", "Bob", "2")},
		// offset 0 of partition 1 comes after every offset of partition 0
		landing.Key{Topic: topic, Partition: 1}.String(): {pinLine(3, "p1", "Cy", "3")},
	}
	want := map[int64]string{1: "from-0-gz", 2: "from-1", 3: "p1"}

	put := func(t *testing.T, b objstore.Bucket) {
		for key, ls := range objects {
			data := []byte(strings.Join(ls, "\n") + "\n")
			if strings.HasSuffix(key, ".gz") {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write(data)
				zw.Close()
				data = buf.Bytes()
			}
			if err := b.Put(t.Context(), key, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(t *testing.T, src objstore.Bucket, opts objstore.Options, conc int) {
		out := filepath.Join(t.TempDir(), "out")
		res := runJob(t, t.Context(), batch.Config{Input: src.URL(""), Prefix: testPrefix, Tables: tablesAt(t, out), Date: "2026-11-24",
			Concurrency: conc, Store: opts})
		if got := res.Counts["pin"].Objects; got != int64(len(objects)) {
			t.Errorf("read %d pin objects, want %d", got, len(objects))
		}
		o := readOutput(t, tablesAt(t, out), "2026-11-24")
		got := map[int64]string{}
		for _, p := range o.pins {
			got[p.Ind] = p.Category.V
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("categories by ind = %v, want %v", got, want)
		}
		if q := o.quality.Quality.Pin; q.Duplicates != 3 {
			t.Errorf("pin duplicates = %d, want 3", q.Duplicates)
		}
	}
	for _, conc := range []int{1, 16} {
		t.Run(fmt.Sprintf("file/concurrency=%d", conc), func(t *testing.T) {
			src := openStore(t, filepath.Join(t.TempDir(), "topics"), objstore.Options{})
			put(t, src)
			check(t, src, objstore.Options{}, conc)
		})
	}
	env := devstack.Require(t, devstack.S3)
	bucket := env.NewBucket(t)
	src := openStore(t, "s3://"+bucket+"/topics", objstore.Options{})
	put(t, src)
	for _, conc := range []int{1, 16} {
		t.Run(fmt.Sprintf("s3/concurrency=%d", conc), func(t *testing.T) {
			check(t, src, objstore.Options{}, conc)
		})
	}
}
