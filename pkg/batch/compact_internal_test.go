package batch

import (
	"slices"
	"testing"
)

// TestCompact: a run that would leave a bucket with more than
// MaxBucketFiles files merges its smallest other files too, down to
// MaxBucketFiles/2; otherwise only the files it touches.
func TestCompact(t *testing.T) {
	mark := func(n int, at ...int) []bool {
		m := make([]bool, n)
		for _, i := range at {
			m[i] = true
		}
		return m
	}
	for _, c := range []struct {
		name   string
		rows   []int64
		merged []bool
		want   []int // the files compact adds, in order
	}{
		{"room left", []int64{900, 10, 20, 30, 40, 50, 60}, mark(7), nil}, // 7 + the new file = 8
		{"full: smallest first", []int64{900, 10, 20, 30, 40, 50, 60, 5}, mark(8), []int{7, 1, 2, 3, 4}},
		{"a touched file is merged anyway", []int64{900, 10, 20, 30, 40, 50, 60, 5}, mark(8, 0), nil},
		{"touched files count", []int64{900, 10, 20, 30, 40, 50, 60, 5, 70}, mark(9, 0), []int{7, 1, 2, 3, 4}},
		{"touched enough", []int64{900, 10, 20, 30, 40, 50, 60, 5}, mark(8, 2), nil},
		{"empty bucket", nil, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			merged := slices.Clone(c.merged)
			got := compact(c.rows, merged)
			if !slices.Equal(got, c.want) {
				t.Fatalf("compact(%v, %v) added %v, want %v", c.rows, c.merged, got, c.want)
			}
			left := 1 // the run's new file
			for _, m := range merged {
				if !m {
					left++
				}
			}
			if left > MaxBucketFiles {
				t.Errorf("the bucket is left with %d files, more than %d", left, MaxBucketFiles)
			}
			for _, i := range got {
				if !merged[i] {
					t.Errorf("file %d returned but not marked", i)
				}
			}
		})
	}
}
