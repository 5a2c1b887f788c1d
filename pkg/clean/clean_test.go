package clean

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// record builds a raw record from the base fields (raw JSON values, in
// order) with the overrides applied: a value replaces the base one, "-"
// removes the key, and keys not in base are appended (sorted).
func record(base [][2]string, over map[string]string) string {
	var sb strings.Builder
	sb.WriteByte('{')
	first := true
	put := func(k, v string) {
		if v == "-" {
			return
		}
		if !first {
			sb.WriteByte(',')
		}
		first = false
		sb.WriteString(`"` + k + `":` + v)
	}
	for _, kv := range base {
		v := kv[1]
		if o, ok := over[kv[0]]; ok {
			v = o
		}
		put(kv[0], v)
	}
	inBase := func(k string) bool {
		return slices.ContainsFunc(base, func(kv [2]string) bool { return kv[0] == k })
	}
	for _, k := range slices.Sorted(maps.Keys(over)) {
		if !inBase(k) {
			put(k, over[k])
		}
	}
	sb.WriteByte('}')
	return sb.String()
}

var pinBase = [][2]string{
	{"index", `7528`},
	{"unique_id", `"fbe53c66-3442-4773-b19e-d3ec6f54dddf"`},
	{"title", `"Summer Crafts"`},
	{"description", `"Easy crafts"`},
	{"poster_name", `"Crafty Morning"`},
	{"follower_count", `"124k"`},
	{"tag_list", `"Summer Crafts For Kids,Toddler Crafts"`},
	{"is_image_or_video", `"image"`},
	{"image_src", `"https://i.pinimg.com/originals/b3/bc/e2/b3bc.png"`},
	{"downloaded", `1`},
	{"save_location", `"Local save in /data/diy-and-crafts"`},
	{"category", `"diy-and-crafts"`},
}

func s(v string) Str { return Str{V: v, Valid: true} }

func basePin() Pin {
	return Pin{
		Ind:            7528,
		UniqueID:       "fbe53c66-3442-4773-b19e-d3ec6f54dddf",
		Title:          s("Summer Crafts"),
		Description:    s("Easy crafts"),
		FollowerCount:  Int64{V: 124000, Valid: true},
		PosterName:     s("Crafty Morning"),
		TagList:        s("Summer Crafts For Kids,Toddler Crafts"),
		IsImageOrVideo: s("image"),
		ImageSrc:       s("https://i.pinimg.com/originals/b3/bc/e2/b3bc.png"),
		SaveLocation:   s("/data/diy-and-crafts"),
		Category:       s("diy-and-crafts"),
	}
}

// nulls is an expected null count: column -> "missing", "placeholder" or "unparseable".
type nulls map[string]string

// checkQuality checks that q counts exactly one read row (unless blank),
// the given rejection, and exactly the given nulls for table tb.
func checkQuality(t *testing.T, q Quality, tb Table, blank bool, reason Reason, want nulls) {
	t.Helper()
	tq := q.Table(tb)
	if blank {
		if tq.BlankLines != 1 || tq.RowsRead != 0 {
			t.Errorf("blank %d, read %d; want 1, 0", tq.BlankLines, tq.RowsRead)
		}
	} else if tq.RowsRead != 1 || tq.BlankLines != 0 {
		t.Errorf("read %d, blank %d; want 1, 0", tq.RowsRead, tq.BlankLines)
	}
	wantRej := map[Reason]int64{}
	if reason != "" {
		wantRej[reason] = 1
	}
	if !maps.Equal(tq.Rejected, wantRej) {
		t.Errorf("rejected = %v, want %v", tq.Rejected, wantRej)
	}
	cols := Columns(tb)
	for _, col := range cols {
		n, ok := tq.Nulls[col]
		if col == "ind" || col == "unique_id" {
			if ok {
				t.Errorf("Nulls has an entry for the key column %q", col)
			}
			continue
		}
		if !ok {
			t.Errorf("Nulls has no entry for %q", col)
		}
		var w ColumnNulls
		switch want[col] {
		case "missing":
			w.Missing = 1
		case "placeholder":
			w.Placeholder = 1
		case "unparseable":
			w.Unparseable = 1
		}
		if n != w {
			t.Errorf("nulls of %q = %+v, want %+v", col, n, w)
		}
	}
	for col := range want {
		if !slices.Contains(cols, col) {
			t.Errorf("bad test: %q is not a column of %s", col, tb)
		}
	}
}

func checkErr(t *testing.T, err error, blank bool, reason Reason, field string) {
	t.Helper()
	switch {
	case blank:
		if !errors.Is(err, ErrBlank) {
			t.Fatalf("err = %v, want ErrBlank", err)
		}
	case reason != "":
		var re *RecordError
		if !errors.As(err, &re) {
			t.Fatalf("err = %v, want a *RecordError", err)
		}
		if re.Reason != reason || (field != "" && re.Field != field) {
			t.Fatalf("err = %v, want reason %s field %q", err, reason, field)
		}
		if len(re.Detail) > 100 {
			t.Errorf("detail too long: %q", re.Detail)
		}
	default:
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
	}
}

func TestPin(t *testing.T) {
	tests := []struct {
		name   string
		line   string            // used as is when set
		over   map[string]string // else record(pinBase, over)
		want   func(*Pin)        // edits of basePin(); nil: basePin() as is
		nulls  nulls
		blank  bool
		reason Reason
		field  string
	}{
		{name: "full record"},
		{name: "key as string", over: map[string]string{"index": `"7528"`}},
		{name: "key string trimmed", over: map[string]string{"index": `"\u00a0 7528\t"`}},
		{name: "key plus sign", over: map[string]string{"index": `"+7528"`}},
		{name: "key zero", over: map[string]string{"index": `0`}, want: func(p *Pin) { p.Ind = 0 }},
		{name: "key minus zero", over: map[string]string{"index": `-0`}, want: func(p *Pin) { p.Ind = 0 }},
		{name: "key minus zero string", over: map[string]string{"index": `"-0"`}, want: func(p *Pin) { p.Ind = 0 }},
		{name: "key max", over: map[string]string{"index": `2147483647`}, want: func(p *Pin) { p.Ind = 1<<31 - 1 }},
		{name: "key too big", over: map[string]string{"index": `2147483648`}, reason: ReasonInvalidKey, field: "index"},
		{name: "key negative", over: map[string]string{"index": `-1`}, reason: ReasonInvalidKey, field: "index"},
		{name: "key with fraction", over: map[string]string{"index": `7528.0`}, reason: ReasonInvalidKey, field: "index"},
		{name: "key with exponent", over: map[string]string{"index": `1e3`}, reason: ReasonInvalidKey, field: "index"},
		{name: "key string exponent", over: map[string]string{"index": `"1e3"`}, reason: ReasonInvalidKey, field: "index"},
		{name: "key string fraction", over: map[string]string{"index": `"7528.0"`}, reason: ReasonInvalidKey, field: "index"},
		{name: "key junk", over: map[string]string{"index": `"abc"`}, reason: ReasonInvalidKey, field: "index"},
		{name: "key boolean", over: map[string]string{"index": `true`}, reason: ReasonInvalidKey, field: "index"},
		{name: "key object", over: map[string]string{"index": `{"a":1}`}, reason: ReasonInvalidKey, field: "index"},
		{name: "key array", over: map[string]string{"index": `[1]`}, reason: ReasonInvalidKey, field: "index"},
		{name: "index absent, ind used", over: map[string]string{"index": "-", "ind": `12`}, want: func(p *Pin) { p.Ind = 12 }},
		{name: "index null, ind used", over: map[string]string{"index": `null`, "ind": `12`}, want: func(p *Pin) { p.Ind = 12 }},
		{name: "index empty, ind used", over: map[string]string{"index": `""`, "ind": `"12"`}, want: func(p *Pin) { p.Ind = 12 }},
		{name: "index blank, ind used", over: map[string]string{"index": `" \u3000"`, "ind": `12`}, want: func(p *Pin) { p.Ind = 12 }},
		{name: "index wins over ind", over: map[string]string{"ind": `12`}},
		{name: "index invalid, ind valid", over: map[string]string{"index": `"x"`, "ind": `12`}, reason: ReasonInvalidKey, field: "index"},
		{name: "index absent, ind invalid", over: map[string]string{"index": "-", "ind": `-3`}, reason: ReasonInvalidKey, field: "ind"},
		{name: "no key", over: map[string]string{"index": "-"}, reason: ReasonMissingKey},
		{name: "keys null", over: map[string]string{"index": "null", "ind": "null"}, reason: ReasonMissingKey},
		{name: "unique_id missing", over: map[string]string{"unique_id": "-"}, reason: ReasonMissingUniqueID, field: "unique_id"},
		{name: "unique_id null", over: map[string]string{"unique_id": "null"}, reason: ReasonMissingUniqueID},
		{name: "unique_id empty", over: map[string]string{"unique_id": `""`}, reason: ReasonMissingUniqueID},
		{name: "unique_id blank", over: map[string]string{"unique_id": `"\u00a0 "`}, reason: ReasonMissingUniqueID},
		{name: "unique_id boolean", over: map[string]string{"unique_id": `false`}, reason: ReasonMissingUniqueID},
		{name: "unique_id number", over: map[string]string{"unique_id": `42`}, want: func(p *Pin) { p.UniqueID = "42" }},
		{name: "unique_id trimmed", over: map[string]string{"unique_id": `" ab "`}, want: func(p *Pin) { p.UniqueID = "ab" }},

		// Placeholders.
		{name: "title placeholder", over: map[string]string{"title": `"No Title Data Available"`},
			want: func(p *Pin) { p.Title = Str{} }, nulls: nulls{"title": "placeholder"}},
		{name: "title placeholder padded", over: map[string]string{"title": `"  No Title Data Available\u00a0"`},
			want: func(p *Pin) { p.Title = Str{} }, nulls: nulls{"title": "placeholder"}},
		{name: "title placeholder other case kept", over: map[string]string{"title": `"no title data available"`},
			want: func(p *Pin) { p.Title = s("no title data available") }},
		{name: "description story placeholder", over: map[string]string{"description": `"No description available Story format"`},
			want: func(p *Pin) { p.Description = Str{} }, nulls: nulls{"description": "placeholder"}},
		{name: "description placeholder", over: map[string]string{"description": `"No description available"`},
			want: func(p *Pin) { p.Description = Str{} }, nulls: nulls{"description": "placeholder"}},
		{name: "poster_name placeholder", over: map[string]string{"poster_name": `"User Info Error"`},
			want: func(p *Pin) { p.PosterName = Str{} }, nulls: nulls{"poster_name": "placeholder"}},
		{name: "follower_count placeholder", over: map[string]string{"follower_count": `"User Info Error"`},
			want: func(p *Pin) { p.FollowerCount = Int64{} }, nulls: nulls{"follower_count": "placeholder"}},
		{name: "tag_list placeholder", over: map[string]string{"tag_list": `"N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e"`},
			want: func(p *Pin) { p.TagList = Str{} }, nulls: nulls{"tag_list": "placeholder"}},
		{name: "image_src placeholder", over: map[string]string{"image_src": `"Image src error."`},
			want: func(p *Pin) { p.ImageSrc = Str{} }, nulls: nulls{"image_src": "placeholder"}},
		{name: "placeholder of another column kept", over: map[string]string{"title": `"User Info Error"`},
			want: func(p *Pin) { p.Title = s("User Info Error") }},

		// follower_count forms.
		{name: "followers number", over: map[string]string{"follower_count": `892`}, want: func(p *Pin) { p.FollowerCount.V = 892 }},
		{name: "followers number fraction", over: map[string]string{"follower_count": `1.5`}, want: func(p *Pin) { p.FollowerCount.V = 2 }},
		{name: "followers number exponent", over: map[string]string{"follower_count": `1e3`},
			want: func(p *Pin) { p.FollowerCount = Int64{} }, nulls: nulls{"follower_count": "unparseable"}},
		{name: "followers number negative", over: map[string]string{"follower_count": `-5`},
			want: func(p *Pin) { p.FollowerCount = Int64{} }, nulls: nulls{"follower_count": "unparseable"}},
		{name: "followers string", over: map[string]string{"follower_count": `"892"`}, want: func(p *Pin) { p.FollowerCount.V = 892 }},
		{name: "followers k", over: map[string]string{"follower_count": `"124k"`}, want: func(p *Pin) { p.FollowerCount.V = 124000 }},
		{name: "followers M", over: map[string]string{"follower_count": `"1.2M"`}, want: func(p *Pin) { p.FollowerCount.V = 1200000 }},
		{name: "followers 2.5k", over: map[string]string{"follower_count": `"2.5k"`}, want: func(p *Pin) { p.FollowerCount.V = 2500 }},
		{name: "followers commas", over: map[string]string{"follower_count": `"10,321"`}, want: func(p *Pin) { p.FollowerCount.V = 10321 }},
		{name: "followers rounded", over: map[string]string{"follower_count": `"3.14159k"`}, want: func(p *Pin) { p.FollowerCount.V = 3142 }},
		{name: "followers trimmed", over: map[string]string{"follower_count": `" 12k\u00a0"`}, want: func(p *Pin) { p.FollowerCount.V = 12000 }},
		{name: "followers empty", over: map[string]string{"follower_count": `""`},
			want: func(p *Pin) { p.FollowerCount = Int64{} }, nulls: nulls{"follower_count": "missing"}},
		{name: "followers absent", over: map[string]string{"follower_count": `-`},
			want: func(p *Pin) { p.FollowerCount = Int64{} }, nulls: nulls{"follower_count": "missing"}},
		{name: "followers true", over: map[string]string{"follower_count": `true`},
			want: func(p *Pin) { p.FollowerCount = Int64{} }, nulls: nulls{"follower_count": "unparseable"}},
		{name: "followers object", over: map[string]string{"follower_count": `{"n":5}`},
			want: func(p *Pin) { p.FollowerCount = Int64{} }, nulls: nulls{"follower_count": "unparseable"}},

		// save_location.
		{name: "save_location path only", over: map[string]string{"save_location": `"/data/x"`},
			want: func(p *Pin) { p.SaveLocation = s("/data/x") }},
		{name: "save_location first slash", over: map[string]string{"save_location": `"Local save in /data/a/b"`},
			want: func(p *Pin) { p.SaveLocation = s("/data/a/b") }},
		{name: "save_location no slash", over: map[string]string{"save_location": `"Local save in "`},
			want: func(p *Pin) { p.SaveLocation = Str{} }, nulls: nulls{"save_location": "unparseable"}},
		{name: "save_location null", over: map[string]string{"save_location": `null`},
			want: func(p *Pin) { p.SaveLocation = Str{} }, nulls: nulls{"save_location": "missing"}},

		// Strings.
		{name: "kept as is", over: map[string]string{"is_image_or_video": `"multi-video(story page format)"`, "category": `"Mens Fashion"`},
			want: func(p *Pin) { p.IsImageOrVideo = s("multi-video(story page format)"); p.Category = s("Mens Fashion") }},
		{name: "unicode and emoji", over: map[string]string{"title": `"Été à Paris 😀 東京"`},
			want: func(p *Pin) { p.Title = s("Été à Paris 😀 東京") }},
		{name: "escapes", over: map[string]string{"title": `"\u00c9t\u00e9 \"x\" \\ \/ \ud83d\ude00\n"`},
			want: func(p *Pin) { p.Title = s("Été \"x\" \\ / 😀") }},
		{name: "lone surrogate", over: map[string]string{"title": `"a\ud800b"`},
			want: func(p *Pin) { p.Title = s("a\ufffdb") }},
		{name: "NBSP and ideographic space trimmed", over: map[string]string{"title": "\"\u00a0\u3000 Summer Crafts \u00a0\""}},
		{name: "escaped space trimmed", over: map[string]string{"title": `"\u00a0\t Summer Crafts\r\n"`}},
		{name: "title empty", over: map[string]string{"title": `"  "`},
			want: func(p *Pin) { p.Title = Str{} }, nulls: nulls{"title": "missing"}},
		{name: "title number", over: map[string]string{"title": `12.50`}, want: func(p *Pin) { p.Title = s("12.50") }},
		{name: "title boolean", over: map[string]string{"title": `false`},
			want: func(p *Pin) { p.Title = Str{} }, nulls: nulls{"title": "unparseable"}},
		{name: "title array", over: map[string]string{"title": `["a"]`},
			want: func(p *Pin) { p.Title = Str{} }, nulls: nulls{"title": "unparseable"}},
		{name: "all optional missing", line: `{"index":1,"unique_id":"u"}`,
			want: func(p *Pin) { *p = Pin{Ind: 1, UniqueID: "u"} },
			nulls: nulls{"title": "missing", "description": "missing", "follower_count": "missing", "poster_name": "missing",
				"tag_list": "missing", "is_image_or_video": "missing", "image_src": "missing", "save_location": "missing", "category": "missing"}},
		{name: "extra keys ignored", over: map[string]string{"zzz": `{"a":[1,2,{"b":null}],"c":"d"}`, "aaa": `[[],{}]`, "Title": `"X"`}},
		{name: "duplicate key last wins", line: `{"index":1,"index":7528,"unique_id":"a","unique_id":"fbe53c66-3442-4773-b19e-d3ec6f54dddf",` +
			`"title":"x","title":"Summer Crafts","description":"Easy crafts","poster_name":"Crafty Morning","follower_count":"124k",` +
			`"tag_list":"Summer Crafts For Kids,Toddler Crafts","is_image_or_video":"image",` +
			`"image_src":"https://i.pinimg.com/originals/b3/bc/e2/b3bc.png","save_location":"Local save in /data/diy-and-crafts",` +
			`"category":"diy-and-crafts"}`},
		{name: "duplicate key last null wins", line: `{"index":1,"unique_id":"u","title":"x","title":null}`,
			want: func(p *Pin) { *p = Pin{Ind: 1, UniqueID: "u"} },
			nulls: nulls{"title": "missing", "description": "missing", "follower_count": "missing", "poster_name": "missing",
				"tag_list": "missing", "is_image_or_video": "missing", "image_src": "missing", "save_location": "missing", "category": "missing"}},
		{name: "escaped key", line: strings.Replace(record(pinBase, nil), `"index"`, `"\u0069ndex"`, 1)},
		{name: "JSON white space around", line: " \t\r\n" + record(pinBase, nil) + "\r\n "},

		// Not records, not objects, not JSON.
		{name: "empty line", line: "", blank: true},
		{name: "spaces", line: " \t \r\n", blank: true},
		{name: "unicode spaces", line: "\u00a0\u3000 ", blank: true},
		{name: "array", line: `[1,2]`, reason: ReasonNotObject},
		{name: "string", line: `"x"`, reason: ReasonNotObject},
		{name: "number", line: ` 42 `, reason: ReasonNotObject},
		{name: "null", line: `null`, reason: ReasonNotObject},
		{name: "true", line: `true`, reason: ReasonNotObject},
		{name: "trailing comma", line: `{"index":1,"unique_id":"u",}`, reason: ReasonInvalidJSON},
		{name: "trailing comma array", line: `{"index":1,"unique_id":"u","x":[1,]}`, reason: ReasonInvalidJSON},
		{name: "NaN", line: `{"index":1,"unique_id":"u","follower_count":NaN}`, reason: ReasonInvalidJSON},
		{name: "Infinity", line: `{"index":1,"unique_id":"u","follower_count":Infinity}`, reason: ReasonInvalidJSON},
		{name: "truncated", line: `{"index":1,"unique_id":"u"`, reason: ReasonInvalidJSON},
		{name: "truncated string", line: `{"index":1,"unique_id":"u`, reason: ReasonInvalidJSON},
		{name: "truncated escape", line: `{"index":1,"unique_id":"u\u00`, reason: ReasonInvalidJSON},
		{name: "truncated nested", line: `{"index":1,"x":{"a":[1`, reason: ReasonInvalidJSON},
		{name: "lone brace", line: `{`, reason: ReasonInvalidJSON},
		{name: "invalid UTF-8", line: "{\"index\":1,\"unique_id\":\"u\xff\"}", reason: ReasonInvalidJSON},
		{name: "invalid UTF-8 in key", line: "{\"ind\xc3\":1}", reason: ReasonInvalidJSON},
		{name: "UTF-8 surrogate", line: "{\"index\":1,\"unique_id\":\"\xed\xa0\x80\"}", reason: ReasonInvalidJSON},
		{name: "control character", line: "{\"index\":1,\"unique_id\":\"a\tb\"}", reason: ReasonInvalidJSON},
		{name: "bad escape", line: `{"index":1,"unique_id":"\q"}`, reason: ReasonInvalidJSON},
		{name: "bad unicode escape", line: `{"index":1,"unique_id":"\u12g4"}`, reason: ReasonInvalidJSON},
		{name: "single quotes", line: `{'index':1}`, reason: ReasonInvalidJSON},
		{name: "leading zero", line: `{"index":01,"unique_id":"u"}`, reason: ReasonInvalidJSON},
		{name: "plus number", line: `{"index":+1,"unique_id":"u"}`, reason: ReasonInvalidJSON},
		{name: "bare fraction", line: `{"index":.5,"unique_id":"u"}`, reason: ReasonInvalidJSON},
		{name: "unquoted key", line: `{index:1}`, reason: ReasonInvalidJSON},
		{name: "two objects", line: `{"index":1,"unique_id":"u"}{}`, reason: ReasonInvalidJSON},
		{name: "garbage after", line: `{"index":1,"unique_id":"u"} x`, reason: ReasonInvalidJSON},
		{name: "byte order mark", line: "\ufeff" + `{"index":1,"unique_id":"u"}`, reason: ReasonInvalidJSON},
		{name: "NBSP around object", line: "\u00a0" + `{"index":1,"unique_id":"u"}`, reason: ReasonInvalidJSON},
		{name: "missing colon", line: `{"index" 1}`, reason: ReasonInvalidJSON},
		{name: "missing comma", line: `{"index":1 "unique_id":"u"}`, reason: ReasonInvalidJSON},
		{name: "bad literal", line: `{"index":1,"unique_id":"u","x":nul}`, reason: ReasonInvalidJSON},
		{name: "not JSON", line: `index=1`, reason: ReasonInvalidJSON},
		{name: "empty object", line: `{}`, reason: ReasonMissingKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line := tc.line
			if line == "" && !tc.blank {
				line = record(pinBase, tc.over)
			}
			c := New()
			got, err := c.Pin([]byte(line))
			checkErr(t, err, tc.blank, tc.reason, tc.field)
			want := Pin{}
			if err == nil {
				want = basePin()
				if tc.want != nil {
					tc.want(&want)
				}
			}
			if got != want {
				t.Errorf("Pin(%s)\n got %+v\nwant %+v", line, got, want)
			}
			checkQuality(t, c.Quality(), TablePin, tc.blank, tc.reason, tc.nulls)
		})
	}
}

var geoBase = [][2]string{
	{"ind", `7528`},
	{"timestamp", `"2020-08-28 03:52:47"`},
	{"latitude", `-89.9787`},
	{"longitude", `-173.293`},
	{"country", `"Albania"`},
}

func baseGeo() Geo {
	return Geo{
		Ind:         7528,
		Country:     s("Albania"),
		Coordinates: Coords{Lat: -89.9787, Lon: -173.293, Valid: true},
		Timestamp:   Time{Micros: time.Date(2020, 8, 28, 3, 52, 47, 0, time.UTC).UnixMicro(), Valid: true},
	}
}

func TestGeo(t *testing.T) {
	noCoords := func(g *Geo) { g.Coordinates = Coords{} }
	ts := func(y int, mo time.Month, d, h, mi, s, ns int) func(*Geo) {
		return func(g *Geo) { g.Timestamp.Micros = time.Date(y, mo, d, h, mi, s, ns, time.UTC).UnixMicro() }
	}
	tests := []struct {
		name   string
		line   string
		over   map[string]string
		want   func(*Geo)
		nulls  nulls
		blank  bool
		reason Reason
		field  string
	}{
		{name: "full record"},
		{name: "all strings", over: map[string]string{"ind": `"7528"`, "latitude": `"-89.9787"`, "longitude": `" -173.293 "`}},
		{name: "ind missing", over: map[string]string{"ind": "-"}, reason: ReasonMissingKey, field: "ind"},
		{name: "ind empty", over: map[string]string{"ind": `""`}, reason: ReasonMissingKey, field: "ind"},
		{name: "ind invalid", over: map[string]string{"ind": `"12a"`}, reason: ReasonInvalidKey, field: "ind"},
		{name: "ind fraction", over: map[string]string{"ind": `7528.0`}, reason: ReasonInvalidKey, field: "ind"},
		{name: "index is not the geo key", over: map[string]string{"ind": "-", "index": "7528"}, reason: ReasonMissingKey},
		{name: "lat 90", over: map[string]string{"latitude": `90`}, want: func(g *Geo) { g.Coordinates.Lat = 90 }},
		{name: "lat -90", over: map[string]string{"latitude": `"-90"`}, want: func(g *Geo) { g.Coordinates.Lat = -90 }},
		{name: "lon 180", over: map[string]string{"longitude": `180.0`}, want: func(g *Geo) { g.Coordinates.Lon = 180 }},
		{name: "lon -180", over: map[string]string{"longitude": `-180`}, want: func(g *Geo) { g.Coordinates.Lon = -180 }},
		{name: "lat exponent", over: map[string]string{"latitude": `4.5e1`}, want: func(g *Geo) { g.Coordinates.Lat = 45 }},
		{name: "lat 0", over: map[string]string{"latitude": `0`}, want: func(g *Geo) { g.Coordinates.Lat = 0 }},
		{name: "lat 90.0001", over: map[string]string{"latitude": `90.0001`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lat 95", over: map[string]string{"latitude": `"95"`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lat -90.5", over: map[string]string{"latitude": `-90.5`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lon 180.5", over: map[string]string{"longitude": `180.5`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lon -181", over: map[string]string{"longitude": `"-181"`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lat huge", over: map[string]string{"latitude": `1e400`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lat NaN string", over: map[string]string{"latitude": `"NaN"`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lat Inf string", over: map[string]string{"latitude": `"-Inf"`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lat hex string", over: map[string]string{"latitude": `"0x1p-2"`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lat underscore", over: map[string]string{"latitude": `"1_0"`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lat junk", over: map[string]string{"latitude": `"north"`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lat sign only", over: map[string]string{"latitude": `"-"`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lat boolean", over: map[string]string{"latitude": `true`}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "lat missing", over: map[string]string{"latitude": `-`}, want: noCoords, nulls: nulls{"coordinates": "missing"}},
		{name: "lon null", over: map[string]string{"longitude": `null`}, want: noCoords, nulls: nulls{"coordinates": "missing"}},
		{name: "lat empty", over: map[string]string{"latitude": `" "`}, want: noCoords, nulls: nulls{"coordinates": "missing"}},
		{name: "lat bad lon missing", over: map[string]string{"latitude": `"x"`, "longitude": "-"}, want: noCoords, nulls: nulls{"coordinates": "unparseable"}},
		{name: "country unicode", over: map[string]string{"country": `"Côte d'Ivoire"`}, want: func(g *Geo) { g.Country = s("Côte d'Ivoire") }},
		{name: "country NBSP", over: map[string]string{"country": "\"\u00a0Albania\u3000\""}},
		{name: "country missing", over: map[string]string{"country": `-`}, want: func(g *Geo) { g.Country = Str{} }, nulls: nulls{"country": "missing"}},
		{name: "timestamp T", over: map[string]string{"timestamp": `"2020-08-28T03:52:47"`}},
		{name: "timestamp Z", over: map[string]string{"timestamp": `"2020-08-28T03:52:47Z"`}},
		{name: "timestamp offset", over: map[string]string{"timestamp": `"2020-08-28T05:52:47+02:00"`}},
		{name: "timestamp fraction", over: map[string]string{"timestamp": `"2020-08-28 03:52:47.1234567"`}, want: ts(2020, 8, 28, 3, 52, 47, 123456000)},
		{name: "timestamp date", over: map[string]string{"timestamp": `"2020-08-28"`}, want: ts(2020, 8, 28, 0, 0, 0, 0)},
		{name: "timestamp trimmed", over: map[string]string{"timestamp": `" 2020-08-28 03:52:47\u00a0"`}},
		{name: "timestamp 24:00", over: map[string]string{"timestamp": `"2020-08-28 24:00:00"`},
			want: func(g *Geo) { g.Timestamp = Time{} }, nulls: nulls{"timestamp": "unparseable"}},
		{name: "timestamp +0200", over: map[string]string{"timestamp": `"2020-08-28 03:52:47+0200"`},
			want: func(g *Geo) { g.Timestamp = Time{} }, nulls: nulls{"timestamp": "unparseable"}},
		{name: "timestamp no seconds", over: map[string]string{"timestamp": `"2020-08-28 03:52"`},
			want: func(g *Geo) { g.Timestamp = Time{} }, nulls: nulls{"timestamp": "unparseable"}},
		{name: "timestamp Feb 30", over: map[string]string{"timestamp": `"2021-02-30"`},
			want: func(g *Geo) { g.Timestamp = Time{} }, nulls: nulls{"timestamp": "unparseable"}},
		{name: "timestamp number", over: map[string]string{"timestamp": `1598586767`},
			want: func(g *Geo) { g.Timestamp = Time{} }, nulls: nulls{"timestamp": "unparseable"}},
		{name: "timestamp missing", over: map[string]string{"timestamp": `null`},
			want: func(g *Geo) { g.Timestamp = Time{} }, nulls: nulls{"timestamp": "missing"}},
		{name: "extra keys", over: map[string]string{"poster_name": `"x"`, "nested": `{"a":{"b":[true,false,null,1.5e-3]}}`}},
		{name: "not object", line: `[{"ind":1}]`, reason: ReasonNotObject},
		{name: "truncated", line: `{"ind":1,"timestamp":"2020-08-28 03:52:47","latitude":-89.97`, reason: ReasonInvalidJSON},
		{name: "blank", line: "\u00a0", blank: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line := tc.line
			if line == "" {
				line = record(geoBase, tc.over)
			}
			c := New()
			got, err := c.Geo([]byte(line))
			checkErr(t, err, tc.blank, tc.reason, tc.field)
			want := Geo{}
			if err == nil {
				want = baseGeo()
				if tc.want != nil {
					tc.want(&want)
				}
			}
			if got != want {
				t.Errorf("Geo(%s)\n got %+v\nwant %+v", line, got, want)
			}
			checkQuality(t, c.Quality(), TableGeo, tc.blank, tc.reason, tc.nulls)
		})
	}
}

var userBase = [][2]string{
	{"ind", `7528`},
	{"first_name", `"Abigail"`},
	{"last_name", `"Ali"`},
	{"age", `20`},
	{"date_joined", `"2015-10-24 11:23:51"`},
}

func baseUser() User {
	return User{
		Ind:        7528,
		UserName:   s("Abigail Ali"),
		Age:        Int32{V: 20, Valid: true},
		DateJoined: Time{Micros: time.Date(2015, 10, 24, 11, 23, 51, 0, time.UTC).UnixMicro(), Valid: true},
	}
}

func TestUser(t *testing.T) {
	noAge := func(u *User) { u.Age = Int32{} }
	age := func(a int32) func(*User) { return func(u *User) { u.Age.V = a } }
	name := func(n string) func(*User) { return func(u *User) { u.UserName = s(n) } }
	tests := []struct {
		name   string
		line   string
		over   map[string]string
		want   func(*User)
		nulls  nulls
		blank  bool
		reason Reason
		field  string
	}{
		{name: "full record"},
		{name: "all strings", over: map[string]string{"ind": `"7528"`, "age": `"20"`}},
		{name: "ind missing", over: map[string]string{"ind": "null"}, reason: ReasonMissingKey, field: "ind"},
		{name: "ind invalid", over: map[string]string{"ind": `"1e3"`}, reason: ReasonInvalidKey, field: "ind"},
		{name: "first only", over: map[string]string{"last_name": "-"}, want: name("Abigail")},
		{name: "last only", over: map[string]string{"first_name": `"  "`}, want: name("Ali")},
		{name: "neither", over: map[string]string{"first_name": "null", "last_name": `""`},
			want: func(u *User) { u.UserName = Str{} }, nulls: nulls{"user_name": "missing"}},
		{name: "neither, one bad", over: map[string]string{"first_name": "[]", "last_name": `""`},
			want: func(u *User) { u.UserName = Str{} }, nulls: nulls{"user_name": "unparseable"}},
		{name: "one bad", over: map[string]string{"first_name": "{}"}, want: name("Ali")},
		{name: "names trimmed", over: map[string]string{"first_name": "\" Abigail\u00a0\"", "last_name": "\"\u3000Ali \""}},
		{name: "unicode names", over: map[string]string{"first_name": `"Zoë"`, "last_name": `"李 😀"`}, want: name("Zoë 李 😀")},
		{name: "number name", over: map[string]string{"last_name": `7`}, want: name("Abigail 7")},
		{name: "age 0", over: map[string]string{"age": `0`}, want: age(0)},
		{name: "age 130", over: map[string]string{"age": `130`}, want: age(130)},
		{name: "age string trimmed", over: map[string]string{"age": `" 33\u00a0"`}, want: age(33)},
		{name: "age plus", over: map[string]string{"age": `"+33"`}, want: age(33)},
		{name: "age minus zero", over: map[string]string{"age": `"-0"`}, want: age(0)},
		{name: "age 131", over: map[string]string{"age": `131`}, want: noAge, nulls: nulls{"age": "unparseable"}},
		{name: "age 200", over: map[string]string{"age": `"200"`}, want: noAge, nulls: nulls{"age": "unparseable"}},
		{name: "age -1", over: map[string]string{"age": `-1`}, want: noAge, nulls: nulls{"age": "unparseable"}},
		{name: "age 20.0", over: map[string]string{"age": `20.0`}, want: noAge, nulls: nulls{"age": "unparseable"}},
		{name: "age string 20.0", over: map[string]string{"age": `"20.0"`}, want: noAge, nulls: nulls{"age": "unparseable"}},
		{name: "age 1e1", over: map[string]string{"age": `1e1`}, want: noAge, nulls: nulls{"age": "unparseable"}},
		{name: "age huge", over: map[string]string{"age": `123456789012345678901234567890`}, want: noAge, nulls: nulls{"age": "unparseable"}},
		{name: "age junk", over: map[string]string{"age": `"twenty"`}, want: noAge, nulls: nulls{"age": "unparseable"}},
		{name: "age boolean", over: map[string]string{"age": `true`}, want: noAge, nulls: nulls{"age": "unparseable"}},
		{name: "age missing", over: map[string]string{"age": `-`}, want: noAge, nulls: nulls{"age": "missing"}},
		{name: "date_joined T Z", over: map[string]string{"date_joined": `"2015-10-24T11:23:51Z"`}},
		{name: "date_joined offset", over: map[string]string{"date_joined": `"2015-10-24T06:23:51-05:00"`}},
		{name: "date_joined bad", over: map[string]string{"date_joined": `"2015-10-24 11:23:51 PM"`},
			want: func(u *User) { u.DateJoined = Time{} }, nulls: nulls{"date_joined": "unparseable"}},
		{name: "date_joined lower t", over: map[string]string{"date_joined": `"2015-10-24t11:23:51"`},
			want: func(u *User) { u.DateJoined = Time{} }, nulls: nulls{"date_joined": "unparseable"}},
		{name: "date_joined missing", over: map[string]string{"date_joined": `-`},
			want: func(u *User) { u.DateJoined = Time{} }, nulls: nulls{"date_joined": "missing"}},
		{name: "not object", line: `"Abigail"`, reason: ReasonNotObject},
		{name: "invalid", line: `{"ind":1,"age":20,}`, reason: ReasonInvalidJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line := tc.line
			if line == "" {
				line = record(userBase, tc.over)
			}
			c := New()
			got, err := c.User([]byte(line))
			checkErr(t, err, tc.blank, tc.reason, tc.field)
			want := User{}
			if err == nil {
				want = baseUser()
				if tc.want != nil {
					tc.want(&want)
				}
			}
			if got != want {
				t.Errorf("User(%s)\n got %+v\nwant %+v", line, got, want)
			}
			checkQuality(t, c.Quality(), TableUser, tc.blank, tc.reason, tc.nulls)
		})
	}
}

func TestNoAliasing(t *testing.T) {
	c := New()
	buf := []byte(record(pinBase, map[string]string{"title": `"\u00e9t\u00e9"`}))
	p, err := c.Pin(buf)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Geo([]byte(record(geoBase, nil)))
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.User([]byte(record(userBase, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'X'
	}
	// Clean more rows through the same Cleaner: its scratch space is reused.
	for range 3 {
		_, _ = c.Pin([]byte(record(pinBase, map[string]string{"title": `"zzzzzzzzzzzzzzzzzzzzz"`})))
		_, _ = c.Geo([]byte(record(geoBase, map[string]string{"country": `"zzzzzzz"`})))
		_, _ = c.User([]byte(record(userBase, map[string]string{"first_name": `"zzzzzzzzzzzzzz"`})))
	}
	want := basePin()
	want.Title = s("été")
	if p != want {
		t.Errorf("pin changed: %+v", p)
	}
	if g != baseGeo() {
		t.Errorf("geo changed: %+v", g)
	}
	if u != baseUser() {
		t.Errorf("user changed: %+v", u)
	}
}

func TestQualityCounters(t *testing.T) {
	c := New()
	pins := []string{
		record(pinBase, nil),
		record(pinBase, map[string]string{"title": `"No Title Data Available"`, "follower_count": `"abc"`}),
		record(pinBase, map[string]string{"title": `null`}),
		"",
		"  ",
		`[]`,
		`{"index":1`,
		`{"unique_id":"u"}`,
		`{"index":"x","unique_id":"u"}`,
		`{"index":1}`,
		// Rejected rows count no nulls.
		`{"index":1,"title":"No Title Data Available"}`,
	}
	for _, l := range pins {
		_, _ = c.Pin([]byte(l))
	}
	_, _ = c.Geo([]byte(record(geoBase, map[string]string{"latitude": `95`})))
	_, _ = c.User([]byte(record(userBase, map[string]string{"age": `200`})))
	_, _ = c.User([]byte(""))

	q := c.Quality()
	p := q.Pin
	if p.RowsRead != 9 || p.BlankLines != 2 || p.Duplicates != 0 || p.RowsWritten != 0 {
		t.Errorf("pin counts = %+v", p)
	}
	wantRej := map[Reason]int64{ReasonNotObject: 1, ReasonInvalidJSON: 1, ReasonMissingKey: 1, ReasonInvalidKey: 1, ReasonMissingUniqueID: 2}
	if !maps.Equal(p.Rejected, wantRej) {
		t.Errorf("pin rejected = %v, want %v", p.Rejected, wantRej)
	}
	if got := p.Nulls["title"]; got != (ColumnNulls{Missing: 1, Placeholder: 1}) {
		t.Errorf("pin title nulls = %+v", got)
	}
	if got := p.Nulls["follower_count"]; got != (ColumnNulls{Unparseable: 1}) {
		t.Errorf("pin follower_count nulls = %+v", got)
	}
	if got := p.Nulls["title"].Total(); got != 2 {
		t.Errorf("Total = %d, want 2", got)
	}
	if len(p.Nulls) != 9 || len(q.Geo.Nulls) != 3 || len(q.User.Nulls) != 3 {
		t.Errorf("Nulls entries: pin %d geo %d user %d; want 9 3 3", len(p.Nulls), len(q.Geo.Nulls), len(q.User.Nulls))
	}
	if q.Geo.RowsRead != 1 || q.Geo.Nulls["coordinates"] != (ColumnNulls{Unparseable: 1}) {
		t.Errorf("geo = %+v", q.Geo)
	}
	if q.User.RowsRead != 1 || q.User.BlankLines != 1 || q.User.Nulls["age"] != (ColumnNulls{Unparseable: 1}) {
		t.Errorf("user = %+v", q.User)
	}
	if q.Geo.Rejected == nil || q.User.Rejected == nil {
		t.Error("Rejected maps must not be nil")
	}

	// The snapshot is a deep copy.
	q.Pin.Nulls["title"] = ColumnNulls{}
	q.Pin.Rejected[ReasonNotObject] = 100
	if q2 := c.Quality(); q2.Pin.Nulls["title"].Total() != 2 || q2.Pin.Rejected[ReasonNotObject] != 1 {
		t.Error("changing a snapshot changed the Cleaner")
	}
}

func TestQualityMerge(t *testing.T) {
	a, b := New(), New()
	_, _ = a.Pin([]byte(record(pinBase, map[string]string{"title": `null`})))
	_, _ = b.Pin([]byte(record(pinBase, map[string]string{"title": `null`})))
	_, _ = b.Pin([]byte(`[]`))
	_, _ = b.Geo([]byte(``))

	var total Quality // the zero value merges
	total.Merge(a.Quality())
	total.Merge(b.Quality())
	bq := b.Quality()
	bq.Pin.Duplicates, bq.Pin.RowsWritten = 4, 5
	total.Merge(bq)
	if total.Pin.RowsRead != 5 || total.Pin.Nulls["title"].Missing != 3 || total.Pin.Rejected[ReasonNotObject] != 2 ||
		total.Geo.BlankLines != 2 || total.Pin.Duplicates != 4 || total.Pin.RowsWritten != 5 {
		t.Errorf("merged = %+v", total)
	}
	if len(total.User.Nulls) != 3 || total.User.Rejected == nil {
		t.Errorf("merged user = %+v", total.User)
	}
	if a.Quality().Pin.RowsRead != 1 {
		t.Error("Merge changed its argument")
	}
}

func TestColumnsAndTable(t *testing.T) {
	tests := []struct {
		table Table
		want  []string
	}{
		{TablePin, []string{"ind", "unique_id", "title", "description", "follower_count", "poster_name", "tag_list",
			"is_image_or_video", "image_src", "save_location", "category"}},
		{TableGeo, []string{"ind", "country", "coordinates", "timestamp"}},
		{TableUser, []string{"ind", "user_name", "age", "date_joined"}},
		{"nope", nil},
	}
	for _, tc := range tests {
		t.Run(string(tc.table), func(t *testing.T) {
			if got := Columns(tc.table); !slices.Equal(got, tc.want) {
				t.Errorf("Columns = %v, want %v", got, tc.want)
			}
			var q Quality
			tq := q.Table(tc.table)
			if (tq == nil) != (tc.want == nil) {
				t.Fatalf("Table = %v", tq)
			}
			if tq != nil {
				tq.RowsRead = 7
				if q.Table(tc.table).RowsRead != 7 {
					t.Error("Table does not point into the Quality")
				}
			}
		})
	}
	// Columns returns a fresh slice each time.
	Columns(TablePin)[0] = "changed"
	if Columns(TablePin)[0] != "ind" {
		t.Error("Columns shares its slice")
	}
}

func TestRecordErrorMessage(t *testing.T) {
	_, err := New().Pin([]byte(`{"index":"x","unique_id":"u"}`))
	if got, want := err.Error(), "pin: invalid_key (index): index must be an integer in [0, 2147483647]"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
