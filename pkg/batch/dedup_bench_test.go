package batch

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// BenchmarkDedup offers 1,000,000 pin rows of about 630,000 distinct inds in
// chunks of 500, as the readers do, and sorts them.
func BenchmarkDedup(b *testing.B) {
	const n, chunk = 1_000_000, 500
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]clean.Pin, n)
	ks := make([]int64, chunk)
	for i := range rows {
		s := fmt.Sprintf("uid-%d title description poster tags image source /data/category", i)
		rows[i] = clean.Pin{Ind: int64(rng.IntN(n)), UniqueID: s[:10], Title: clean.Str{V: s[11:16], Valid: true}, Category: clean.Str{V: s[50:], Valid: true}}
	}
	for i := range ks {
		ks[i] = int64(i)
	}
	for b.Loop() {
		d := newDedup(func(p *clean.Pin) int64 { return p.Ind }, func(int32) string { return "" })
		for lo := 0; lo < n; lo += chunk {
			d.add(rows[lo:lo+chunk], ks, object{partition: 0, start: int64(lo)})
		}
		out, _, _, _ := d.sorted(2, func(int64) int32 { return 0 }, 1)
		if len(out) == 0 {
			b.Fatal("no rows")
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}
