package clean

import (
	"reflect"
	"slices"
	"strconv"
	"testing"
)

func TestNullableColumns(t *testing.T) {
	tests := []struct {
		table Table
		want  []string
	}{
		{TablePin, []string{"title", "description", "follower_count", "poster_name", "tag_list", "is_image_or_video",
			"image_src", "save_location", "category"}},
		{TableGeo, []string{"country", "coordinates", "timestamp"}},
		{TableUser, []string{"user_name", "age", "date_joined"}},
		{"nope", nil},
	}
	for _, tc := range tests {
		t.Run(string(tc.table), func(t *testing.T) {
			if got := NullableColumns(tc.table); !slices.Equal(got, tc.want) {
				t.Errorf("NullableColumns(%s) = %v, want %v", tc.table, got, tc.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	zero := NewQuality()
	if !reflect.DeepEqual(zero, New().Quality()) {
		t.Errorf("NewQuality = %+v, a new Cleaner's Quality = %+v", zero, New().Quality())
	}
	for _, tb := range Tables {
		tq := zero.Table(tb)
		if tq.Rejected == nil || len(tq.Rejected) != 0 || len(tq.Nulls) != len(NullableColumns(tb)) {
			t.Errorf("NewQuality().%s = %+v", tb, tq)
		}
	}

	// Summed counts: zero reasons dropped, the nulls kept, missing columns added.
	var q Quality
	q.Pin.RowsRead = 3
	q.Pin.Rejected = map[Reason]int64{ReasonInvalidJSON: 0, ReasonMissingKey: 2}
	q.Pin.Nulls = map[string]ColumnNulls{"title": {Missing: 1}}
	q.Normalize()
	want := NewQuality()
	want.Pin.RowsRead = 3
	want.Pin.Rejected[ReasonMissingKey] = 2
	want.Pin.Nulls["title"] = ColumnNulls{Missing: 1}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("Normalize = %+v, want %+v", q, want)
	}
	q.Normalize()
	if !reflect.DeepEqual(q, want) {
		t.Errorf("Normalize twice = %+v, want %+v", q, want)
	}

	// The merge of normalized reports is the report of all their lines.
	a, b, all := New(), New(), New()
	for i, line := range []string{`{"index":1,"unique_id":"u"}`, `[]`, `{"ind":1,"country":"x"}`, ` `, `{"ind":"x"}`} {
		c := a
		if i%2 == 1 {
			c = b
		}
		for _, cl := range []*Cleaner{c, all} {
			_, _ = cl.Pin([]byte(line))
			_, _ = cl.Geo([]byte(line))
			_, _ = cl.User([]byte(line))
		}
	}
	var sum Quality
	sum.Merge(a.Quality())
	sum.Merge(b.Quality())
	sum.Normalize()
	if got := all.Quality(); !reflect.DeepEqual(sum, got) {
		t.Errorf("merged = %+v, want %+v", sum, got)
	}
}

func TestUnknownKeys(t *testing.T) {
	c := New()
	lines := []string{
		`{"index": 1, "unique_id": "a", "downloaded": 1}`,                // downloaded is known, dropped
		`{"index": 2, "unique_id": "b", "new_field": 1, "new_field": 2}`, // once per record
		`{"index": 3, "unique_id": "c", "new_field": null, "n\u0065w": 0}`,
		`{"unique_id": "d", "new_field": 1}`, // rejected (missing key), still counted
		`{"index": 5, "new_field": 1,`,       // invalid JSON: not counted
		`[1, 2]`,
	}
	for _, l := range lines {
		c.Pin([]byte(l))
	}
	c.Geo([]byte(`{"ind": 1, "timestamp": "2020-01-01 00:00:00", "lat": 1}`))
	q := c.Quality()
	if want := map[string]int64{"new_field": 3, "new": 1}; !reflect.DeepEqual(q.Pin.UnknownKeys, want) {
		t.Errorf("pin unknown keys = %v, want %v", q.Pin.UnknownKeys, want)
	}
	if want := map[string]int64{"lat": 1}; !reflect.DeepEqual(q.Geo.UnknownKeys, want) {
		t.Errorf("geo unknown keys = %v, want %v", q.Geo.UnknownKeys, want)
	}
	if len(q.User.UnknownKeys) != 0 || q.User.UnknownKeys == nil {
		t.Errorf("user unknown keys = %#v, want an empty map", q.User.UnknownKeys)
	}
	var sum Quality
	sum.Merge(q)
	sum.Merge(q)
	if sum.Pin.UnknownKeys["new_field"] != 6 {
		t.Errorf("merged twice: %v", sum.Pin.UnknownKeys)
	}
}

func TestUnknownKeysBounded(t *testing.T) {
	c := New()
	for i := range MaxUnknownKeys + 10 {
		c.User([]byte(`{"ind": 1, "k` + strconv.Itoa(i) + `": 0}`))
	}
	u := c.Quality().User.UnknownKeys
	if len(u) != MaxUnknownKeys+1 || u[OtherUnknownKeys] != 10 || u["k0"] != 1 {
		t.Errorf("got %d names, %s = %d, k0 = %d; want %d names, 10, 1", len(u), OtherUnknownKeys, u[OtherUnknownKeys], u["k0"], MaxUnknownKeys+1)
	}
}

// TestMergedUnknownKeysBounded: a running total of the reports of many
// Cleaners, each with new names, keeps at most MaxUnknownKeys names besides
// OtherUnknownKeys, and every record counted; the names kept are those of
// the largest counts, ties by name.
func TestMergedUnknownKeysBounded(t *testing.T) {
	var sum TableQuality
	var total int64
	for r := range 20 {
		c := New()
		c.User([]byte(`{"ind": 1, "big": 0}`))
		c.User([]byte(`{"ind": 1, "big": 0}`))
		for i := range MaxUnknownKeys + 3 {
			c.User([]byte(`{"ind": 1, "k` + strconv.Itoa(r) + `_` + strconv.Itoa(i) + `": 0}`))
		}
		q := c.Quality().User
		for _, n := range q.UnknownKeys {
			total += n
		}
		sum.Merge(q)
	}
	var got int64
	for _, n := range sum.UnknownKeys {
		got += n
	}
	if len(sum.UnknownKeys) > MaxUnknownKeys+1 || got != total {
		t.Fatalf("merged: %d names, %d records; want at most %d names, %d records", len(sum.UnknownKeys), got, MaxUnknownKeys+1, total)
	}
	if sum.UnknownKeys["big"] != 40 {
		t.Errorf("big = %d, want 40 (the largest count stays)", sum.UnknownKeys["big"])
	}
	var again Quality
	again.User = sum
	again.Normalize()
	if len(again.User.UnknownKeys) != len(sum.UnknownKeys) {
		t.Errorf("normalize changed a capped report: %d names, want %d", len(again.User.UnknownKeys), len(sum.UnknownKeys))
	}
	m := map[string]int64{OtherUnknownKeys: 1}
	for i := range MaxUnknownKeys + 2 {
		m["x"+strconv.Itoa(i%10)+"_"+strconv.Itoa(i)] = 1
	}
	m["a"] = 5
	n := TableQuality{UnknownKeys: m}
	n.normalize(TableUser)
	if len(m) != MaxUnknownKeys+1 || m["a"] != 5 || m[OtherUnknownKeys] != 4 {
		t.Errorf("normalize: %d names, a = %d, %s = %d; want %d, 5, 4", len(m), m["a"], OtherUnknownKeys, m[OtherUnknownKeys], MaxUnknownKeys+1)
	}
}
