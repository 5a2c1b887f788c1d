// Package ctxwait waits for a duration or for a context to end, whichever
// comes first: the pause between retries and polls of pinpipe's clients.
package ctxwait

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx is done. It returns ctx.Err() when ctx
// ended first (or was already done when d <= 0), else nil.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
