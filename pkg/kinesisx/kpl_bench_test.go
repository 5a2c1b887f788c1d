package kinesisx

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDeaggregate unpacks a KPL-aggregated record of 100 user records
// of about 400 bytes (pin-sized JSON), digest checked.
func BenchmarkDeaggregate(b *testing.B) {
	var a Aggregator
	for i := range 100 {
		a.Add(fmt.Sprint(i), fmt.Appendf(nil, `{"index":%d,"unique_id":"u%d","title":"%s"}`, i, i, strings.Repeat("t", 360)))
	}
	rec := Record{Sequence: "1", Data: a.Bytes()}
	b.SetBytes(int64(len(rec.Data)))
	b.ReportAllocs()
	for b.Loop() {
		users, err := Deaggregate(rec)
		if err != nil || len(users) != 100 {
			b.Fatal(len(users), err)
		}
	}
}

// BenchmarkDeaggregatePlain is the cost Deaggregate adds to a record that is
// not aggregated.
func BenchmarkDeaggregatePlain(b *testing.B) {
	rec := Record{Sequence: "1", Data: []byte(`{"index":1,"unique_id":"u1"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Deaggregate(rec); err != nil {
			b.Fatal(err)
		}
	}
}
