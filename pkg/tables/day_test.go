package tables

import "testing"

func TestDayRoundTrip(t *testing.T) {
	for _, date := range []string{"1970-01-01", "2024-02-29", "2026-11-25", "2099-12-31"} {
		d, err := dayValue(date)
		if err != nil {
			t.Fatal(err)
		}
		if got := dayString(d); got != date {
			t.Errorf("dayString(dayValue(%s)) = %s", date, got)
		}
	}
	if _, err := dayValue("2026-02-30"); err == nil {
		t.Error("dayValue accepted 2026-02-30")
	}
}
