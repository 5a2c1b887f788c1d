package stream

import (
	"reflect"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// TestQualityStateReport checks the shape of the running report: every
// nullable column of every table listed, zero or not, and only the reasons
// counted, whatever the shards' checkpoints hold.
func TestQualityStateReport(t *testing.T) {
	q := newQualityState(map[clean.Table]string{clean.TablePin: "s-pin", clean.TableGeo: "s-geo"})
	if rep, _ := q.report(); !reflect.DeepEqual(rep.Quality, clean.NewQuality()) {
		t.Errorf("report with no shard = %+v, want zero counts", rep.Quality)
	}
	q.set("s-pin", "a", &clean.TableQuality{RowsRead: 2, Rejected: map[clean.Reason]int64{clean.ReasonNotObject: 1, clean.ReasonInvalidKey: 0}})
	q.set("s-pin", "b", &clean.TableQuality{RowsRead: 3, Nulls: map[string]clean.ColumnNulls{"title": {Placeholder: 2}}})
	q.set("s-geo", "c", nil)
	rep, _ := q.report()
	want := clean.NewQuality()
	want.Pin.RowsRead = 5
	want.Pin.Rejected[clean.ReasonNotObject] = 1
	want.Pin.Nulls["title"] = clean.ColumnNulls{Placeholder: 2}
	if !reflect.DeepEqual(rep.Quality, want) {
		t.Errorf("report = %+v, want %+v", rep.Quality, want)
	}
	if rep.Shards != 3 {
		t.Errorf("report counts %d shards, want 3", rep.Shards)
	}
}
