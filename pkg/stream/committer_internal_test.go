package stream

import (
	"context"
	"testing"
)

// TestSubmitAfterStop: a stopping worker's flush is queued whenever the
// queue has room, also once its context has ended (a select picking at
// random between the two dropped one flush in two, leaving a table's
// position behind the other's); with the queue full, the ended context
// wins.
func TestSubmitAfterStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &committer{in: make(chan *flush, 200)}
	for i := range 200 {
		if err := c.submit(ctx, &flush{}); err != nil {
			t.Fatalf("submit %d with room in the queue: %v", i, err)
		}
	}
	if err := c.submit(ctx, &flush{}); err == nil {
		t.Fatal("submit to a full queue after the context ended: no error")
	}
}
