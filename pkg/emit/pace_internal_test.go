package emit

import (
	"testing"
	"time"
)

// TestPaceOffset checks the emitter's schedule at a rate: the batch after
// done rows is due at done/rate seconds from the start.
func TestPaceOffset(t *testing.T) {
	for _, c := range []struct {
		done int
		rate float64
		want time.Duration
	}{
		{0, 200, 0},
		{20, 200, 100 * time.Millisecond},
		{300, 200, 1500 * time.Millisecond},
		{1, 0.5, 2 * time.Second},
		{1000, 100000, 10 * time.Millisecond},
	} {
		if got := paceOffset(c.done, c.rate); got != c.want {
			t.Errorf("paceOffset(%d, %g) = %v, want %v", c.done, c.rate, got, c.want)
		}
	}
}
