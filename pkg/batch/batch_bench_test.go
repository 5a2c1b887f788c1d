package batch_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

// BenchmarkRun runs the whole job on the file store over 100,000 sample posts
// (300,000 lines, duplicates included) in objects of 10,000 lines; it reports
// lines/s. scripts/bench-batch.sh runs the binary on 1,000,000 posts.
func BenchmarkRun(b *testing.B) {
	parquetio.UseFastSnappy() // as cmd/batchjob
	for _, posts := range []int{100_000} {
		b.Run(fmt.Sprintf("posts=%d", posts), func(b *testing.B) {
			dir := b.TempDir()
			src := openStore(b, filepath.Join(dir, "topics"), objstore.Options{})
			land(b, src, generated(posts, posts), batchtest.Layout{PerObject: 10000})
			b.ResetTimer()
			var lines int64
			for i := 0; b.Loop(); i++ {
				res := runJob(b, b.Context(), batch.Config{Input: src.URL(""), Prefix: testPrefix, Tables: tablesAt(b, filepath.Join(dir, "out")), Date: "2026-11-24"})
				lines += res.Lines()
			}
			b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
