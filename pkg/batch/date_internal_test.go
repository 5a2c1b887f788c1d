package batch

import (
	"strings"
	"testing"
	"time"
)

// TestRelativeDates checks --date today and yesterday: the UTC day at the
// start of the run, and the one before (a CronJob just after midnight).
func TestRelativeDates(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 3, 1, 0, 30, 0, 0, time.FixedZone("UTC+2", 2*3600)) } // 2026-02-28 22:30 UTC
	for date, want := range map[string]string{"": "2026-02-28", DateToday: "2026-02-28", DateYesterday: "2026-02-27", "2026-01-05": "2026-01-05"} {
		if got := (Config{Date: date, Now: now}).withDefaults().Date; got != want {
			t.Errorf("date %q: %s, want %s", date, got, want)
		}
	}
	for _, bad := range []string{"tomorrow", "2026-02-30", "Yesterday"} {
		err := Config{Input: "x", Prefix: "p", Date: bad}.Validate()
		if err == nil || !strings.Contains(err.Error(), "yesterday") || !strings.Contains(err.Error(), bad) {
			t.Errorf("date %q: err = %v, want one naming it and the values accepted", bad, err)
		}
	}
}
