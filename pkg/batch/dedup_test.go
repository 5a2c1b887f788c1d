package batch

import (
	"testing"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// TestMostlyDuplicates checks when a dedup says its input is mostly
// duplicates: not before minDupRows rows are offered, not while at least half
// are kept, and for good once fewer are.
func TestMostlyDuplicates(t *testing.T) {
	d := newDedup(func(p *clean.Pin) int64 { return p.Ind }, func(int32) string { return "" })
	offer := func(from, n int) {
		rows := make([]clean.Pin, n)
		ks := make([]int64, n)
		for i := range rows {
			rows[i].Ind = int64(from + i)
			ks[i] = int64(i)
		}
		d.add(rows, ks, object{})
	}
	offer(0, 1)
	for range 99 { // 100 rows, 1 kept: too few to tell
		offer(0, 1)
	}
	if d.mostlyDuplicates() {
		t.Fatal("mostly duplicates after 100 rows")
	}
	offer(1, minDupRows) // 16,484 offered, 16,385 kept
	if d.mostlyDuplicates() {
		t.Fatal("mostly duplicates with nearly every row kept")
	}
	offer(1, minDupRows-200) // 32,668 offered, 16,385 kept: just over half
	if d.mostlyDuplicates() {
		t.Fatal("mostly duplicates with over half the rows kept")
	}
	offer(1, 200) // 32,868 offered, 16,385 kept
	if !d.mostlyDuplicates() {
		t.Fatalf("not mostly duplicates with %d of %d rows kept", d.n, d.accepted)
	}
	offer(1<<20, 3*minDupRows) // now most rows are kept again
	if !d.mostlyDuplicates() {
		t.Fatal("the verdict changed back")
	}
}
