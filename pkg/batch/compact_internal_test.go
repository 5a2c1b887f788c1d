package batch

import (
	"slices"
	"testing"
)

// TestCompact: a run that would leave a bucket with more than
// MaxBucketFiles data files merges its smallest ones into one, down to
// MaxBucketFiles/2; a file with more deleted rows than live ones is merged
// anyway (one whose rows are all deleted goes away).
func TestCompact(t *testing.T) {
	for _, c := range []struct {
		name   string
		live   []int64 // live rows of each file
		rows   []int64 // rows of each file; nil: live
		adding int
		want   []int // the files to merge, sorted
	}{
		{"room left", []int64{900, 10, 20, 30, 40, 50, 60}, nil, 1, nil}, // 7 + the new file = 8
		{"full: smallest first", []int64{900, 10, 20, 30, 40, 50, 60, 5}, nil, 1, []int{1, 2, 3, 4, 5, 7}},
		{"nothing added", []int64{900, 10, 20, 30, 40, 50, 60, 5}, nil, 0, nil},
		{"over the bound", []int64{900, 10, 20, 30, 40, 50, 60, 5, 70}, nil, 1, []int{1, 2, 3, 4, 5, 6, 7}},
		{"all deleted", []int64{900, 0, 20}, []int64{900, 7, 20}, 1, []int{1}},
		{"all deleted, full", []int64{900, 10, 20, 30, 0, 0, 60, 5}, []int64{900, 10, 20, 30, 5, 5, 60, 5}, 1, []int{1, 2, 3, 4, 5, 7}},
		{"mostly deleted", []int64{900, 100, 20}, []int64{1900, 100, 20}, 1, []int{0}},
		{"mostly deleted, full", []int64{900, 10, 20, 30, 40, 50, 60, 5}, []int64{1900, 10, 20, 30, 40, 50, 60, 5}, 1, []int{0, 1, 2, 3, 4, 5, 7}},
		{"half deleted", []int64{900, 100, 20}, []int64{1800, 100, 20}, 1, nil},
		{"empty bucket", nil, nil, 1, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows := c.rows
			if rows == nil {
				rows = c.live
			}
			got := compact(c.live, rows, c.adding)
			if !slices.Equal(got, c.want) {
				t.Fatalf("compact(%v, %v, %d) = %v, want %v", c.live, rows, c.adding, got, c.want)
			}
			left := len(c.live) - len(got) + c.adding
			if len(got) > 0 {
				left++ // the file they are merged into
			}
			if left > MaxBucketFiles {
				t.Errorf("the bucket is left with %d files, more than %d", left, MaxBucketFiles)
			}
			for _, i := range got {
				if rows[i]-c.live[i] > c.live[i] {
					continue
				}
				for j, n := range c.live {
					if !slices.Contains(got, j) && n < c.live[i] {
						t.Errorf("file %d (%d rows) merged, but not the smaller file %d (%d rows)", i, c.live[i], j, n)
					}
				}
			}
		})
	}
}
