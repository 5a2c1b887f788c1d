package batch_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// TestMostlyDuplicatedInput reads a topic whose lines are mostly repeats of
// a few hundred inds (as the original emulator sent them), more lines than a
// dedup needs to call its input mostly duplicates (TestMostlyDuplicates
// checks when), so the blocks read after that are cleaned without an arena:
// every ind keeps the text of its last line, and every other line is counted
// a duplicate, however the rows' strings were held.
func TestMostlyDuplicatedInput(t *testing.T) {
	const distinct, n = 300, 40_000
	var in topics
	last := map[int64]string{}
	for i := range n {
		ind := int64(i*7919) % distinct
		title := fmt.Sprintf("version %d of %d", i, ind)
		in[0] = append(in[0], fmt.Appendf(nil,
			`{"index":%d,"unique_id":"u-%d","title":%q,"poster_name":"P%d","follower_count":"%d","category":"c%d"}`,
			ind, ind, title, ind%17, i, ind%5))
		last[ind] = title
	}
	dir := t.TempDir()
	src := openStore(t, filepath.Join(dir, "topics"), objstore.Options{})
	land(t, src, in, batchtest.Layout{Partitions: 1, PerObject: 2500})
	out := filepath.Join(dir, "out")
	res := runJob(t, t.Context(), batch.Config{Input: src.URL(""), Prefix: testPrefix, Tables: tablesAt(t, out), Date: "2026-11-24", Concurrency: 4, Workers: 2})
	o := readOutput(t, tablesAt(t, out), "2026-11-24")
	if len(o.pins) != distinct {
		t.Fatalf("%d pins written, want %d", len(o.pins), distinct)
	}
	for _, p := range o.pins {
		if want := last[p.Ind]; !p.Title.Valid || p.Title.V != want {
			t.Errorf("ind %d: title %q, want %q (its last line)", p.Ind, p.Title.V, want)
		}
	}
	if got := res.Quality.Table("pin").Duplicates; got != n-distinct {
		t.Errorf("%d duplicates, want %d", got, n-distinct)
	}
}
