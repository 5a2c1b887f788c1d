package clean

import (
	"reflect"
	"slices"
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
