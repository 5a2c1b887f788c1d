package stream

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestFlushLog(t *testing.T) {
	var l flushLog
	for i := range RecentFlushes + 5 {
		l.add(FlushStatus{Rows: int64(i)})
	}
	got := l.recent()
	if len(got) != RecentFlushes || got[0].Rows != RecentFlushes+4 || got[len(got)-1].Rows != 5 {
		t.Fatalf("recent: %d flushes, first %d, last %d; want %d, newest (%d) first, oldest kept %d",
			len(got), got[0].Rows, got[len(got)-1].Rows, RecentFlushes, RecentFlushes+4, 5)
	}
}

// values reads the series by label name (the exposition sorts labels by
// name: shard before stream) and creates none.
func TestValues(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.MillisBehind.WithLabelValues("s1", "shard-0").Set(1500)
	m.RecordsIn.WithLabelValues("pin").Add(7)
	lag := values(m.MillisBehind)
	if len(lag) != 1 || lag[0].labels["stream"] != "s1" || lag[0].labels["shard"] != "shard-0" || lag[0].v != 1500 {
		t.Errorf("lag series %+v", lag)
	}
	if got := byTable(m.RecordsIn); got["pin"] != 7 || len(got) != 1 {
		t.Errorf("records in %v", got)
	}
	if got := byTable(m.Rejected); len(got) != 0 {
		t.Errorf("rejected %v: want no series", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "pinpipe_stream_records_rejected_total" {
			t.Error("reading created a series of records_rejected_total")
		}
	}
}
