package insights

import "testing"

// BenchmarkCompute computes the nine tables over 1M rows per table.
func BenchmarkCompute(b *testing.B) {
	const n = 1_000_000
	in := synthetic(42, n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Compute(in)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "pins/s")
}
