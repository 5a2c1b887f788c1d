package sample

import (
	"testing"
)

func BenchmarkRowJSON(b *testing.B) {
	g := New(1)
	var n int64
	i := 0
	for b.Loop() {
		r := g.Row(i)
		n += int64(len(r.PinJSON()) + len(r.GeoJSON()) + len(r.UserJSON()))
		i++
	}
	b.SetBytes(n / int64(max(i, 1)))
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkDirtyRecords(b *testing.B) {
	g := New(1)
	i := 0
	for b.Loop() {
		p, ge, u := g.DirtyRecords(i)
		_, _, _ = p, ge, u
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkLoad loads 11,000 rows (the default sample) per iteration into
// private tables of the local MariaDB.
func BenchmarkLoad(b *testing.B) {
	db := openDB(b)
	ctx := b.Context()
	names := privateTables(b, db)
	g := New(1)
	const rows = 11_000
	loaded := 0
	for b.Loop() {
		b.StopTimer()
		if err := CreateTables(ctx, db, names); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := Load(ctx, db, names, g, rows, nil); err != nil {
			b.Fatal(err)
		}
		loaded += rows
	}
	b.ReportMetric(float64(loaded)/b.Elapsed().Seconds(), "rows/s")
}
