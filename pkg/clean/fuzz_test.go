package clean

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The fuzz tests check that cleaning never panics, that the outputs respect
// their types and ranges, that the JSON verdict agrees with encoding/json,
// and that cleaning a clean row (re-encoded as a raw record) changes nothing.

var fuzzSeeds = []string{
	``, ` `, "\u00a0", `{}`, `[]`, `null`, `"x"`, `1`, `{"a":1,}`, `{"a":NaN}`, `{"a":`, "{\"a\":\"\xff\"}",
	`{"a":[1,{"b":[]}],"c":{"d":{}}}`, `{"\u0069nd":"\u0037"}`, `{"ind":"-0"}`, `{"ind":2147483648}`,
}

func addSeeds(f *testing.F, extra ...string) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// validJSON is the verdict of encoding/json, with UTF-8 validity, which
// encoding/json does not check.
func validJSON(line []byte) bool { return json.Valid(line) && utf8.Valid(line) }

// checkVerdict checks err against encoding/json's view of line.
func checkVerdict(t *testing.T, line []byte, err error) {
	t.Helper()
	var re *RecordError
	switch {
	case errors.Is(err, ErrBlank):
		if len(bytes.TrimSpace(line)) != 0 {
			t.Fatalf("ErrBlank for a non-blank line %q", line)
		}
		return
	case errors.As(err, &re):
		// Every rejection is quarantined with its own, declared reason and a detail.
		if r := NewRejected(re.Table, err, line); r.Reason != re.Reason || r.Reason == ReasonUnexpected || r.Detail == "" {
			t.Fatalf("rejected row %+v for error %v", r, err)
		}
		switch re.Reason {
		case ReasonInvalidJSON:
			if validJSON(line) {
				t.Fatalf("invalid_json for valid JSON %q", line)
			}
			return
		case ReasonNotObject:
			if !validJSON(line) || bytes.TrimSpace(line)[0] == '{' {
				t.Fatalf("not_object for %q", line)
			}
			return
		}
	case err != nil:
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
	if !validJSON(line) || bytes.TrimLeft(line, " \t\r\n")[0] != '{' {
		t.Fatalf("accepted (err %v) a line that is not a JSON object: %q", err, line)
	}
}

// decodeMap decodes a valid JSON object like the Go standard library does.
func decodeMap(t *testing.T, line []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decoding %q: %v", line, err)
	}
	return m
}

// wantStr is the expected cleaning of a string column by encoding/json's
// reading of the value, before placeholders.
func wantStr(v any) Str {
	switch v := v.(type) {
	case string:
		if s := strings.TrimSpace(v); s != "" {
			return Str{V: s, Valid: true}
		}
	case json.Number:
		return Str{V: string(v), Valid: true}
	}
	return Str{}
}

func checkStr(t *testing.T, col string, s Str) {
	t.Helper()
	if !s.Valid {
		if s.V != "" {
			t.Fatalf("%s: null with a value %q", col, s.V)
		}
		return
	}
	if s.V == "" || !utf8.ValidString(s.V) || strings.TrimSpace(s.V) != s.V {
		t.Fatalf("%s: bad string %q", col, s.V)
	}
}

func checkTime(t *testing.T, col string, v Time) {
	t.Helper()
	if v.Valid && (v.Micros < minMicros || v.Micros > maxMicros) || !v.Valid && v.Micros != 0 {
		t.Fatalf("%s: bad time %+v", col, v)
	}
}

func jsonText(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func timeText(us int64) string {
	return time.UnixMicro(us).UTC().Format("2006-01-02 15:04:05.000000")
}

// encodePin writes a clean pin row back as a raw record.
func encodePin(t *testing.T, p Pin) []byte {
	m := map[string]any{"index": p.Ind, "unique_id": p.UniqueID}
	for k, v := range map[string]Str{"title": p.Title, "description": p.Description, "poster_name": p.PosterName,
		"tag_list": p.TagList, "is_image_or_video": p.IsImageOrVideo, "image_src": p.ImageSrc,
		"save_location": p.SaveLocation, "category": p.Category} {
		if v.Valid {
			m[k] = v.V
		}
	}
	if p.FollowerCount.Valid {
		m["follower_count"] = p.FollowerCount.V
	}
	return jsonText(t, m)
}

func encodeGeo(t *testing.T, g Geo) []byte {
	m := map[string]any{"ind": g.Ind}
	if g.Country.Valid {
		m["country"] = g.Country.V
	}
	if g.Coordinates.Valid {
		m["latitude"], m["longitude"] = g.Coordinates.Lat, g.Coordinates.Lon
	}
	if g.Timestamp.Valid {
		m["timestamp"] = timeText(g.Timestamp.Micros)
	}
	return jsonText(t, m)
}

func encodeUser(t *testing.T, u User) []byte {
	m := map[string]any{"ind": u.Ind}
	if u.UserName.Valid {
		m["first_name"] = u.UserName.V
	}
	if u.Age.Valid {
		m["age"] = u.Age.V
	}
	if u.DateJoined.Valid {
		m["date_joined"] = timeText(u.DateJoined.Micros)
	}
	return jsonText(t, m)
}

// sameWithArena checks that a Cleaner with an arena (chunks small enough
// that some rows do not fit) cleans line as one without (want, wantErr), for
// the first row of a chunk and for a row carved after it.
func sameWithArena[R comparable](t *testing.T, line []byte, want R, wantErr error, clean func(*Cleaner, []byte) (R, error)) {
	t.Helper()
	c := New()
	c.SetArena(256)
	for i := range 2 {
		got, err := clean(c, line)
		if got != want || (err == nil) != (wantErr == nil) {
			t.Fatalf("with an arena (row %d): %+v (err %v), without: %+v (err %v)", i, got, err, want, wantErr)
		}
	}
}

func FuzzCleanPin(f *testing.F) {
	addSeeds(f,
		record(pinBase, nil),
		record(pinBase, map[string]string{"index": `"12"`, "follower_count": `"1.2M"`, "title": `"No Title Data Available"`}),
		record(pinBase, map[string]string{"index": "null", "ind": `"0"`, "follower_count": `"3.14159k"`, "tag_list": `"N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e"`}),
		record(pinBase, map[string]string{"follower_count": `"10,321"`, "save_location": `"no slash"`, "description": `"No description available"`}),
		record(pinBase, map[string]string{"follower_count": `1.5`, "poster_name": `"User Info Error"`, "image_src": `"Image src error."`}),
		record(pinBase, map[string]string{"title": `"\u00a0\u3000 x \ud83d\ude00 \ud800"`, "category": `12.5e3`, "x": `[{"y":null}]`}),
		`{"index":1,"unique_id":"u","title":"a","title":null,"follower_count":"9223372036854775807"}`,
		`{"index":1,"unique_id":" ","title":"a"}`,
	)
	f.Fuzz(func(t *testing.T, line []byte) {
		c := New()
		p, err := c.Pin(line)
		sameWithArena(t, line, p, err, (*Cleaner).Pin)
		checkVerdict(t, line, err)
		q := c.Quality().Pin
		if q.RowsRead+q.BlankLines != 1 {
			t.Fatalf("counted %d rows and %d blank lines", q.RowsRead, q.BlankLines)
		}
		if err != nil {
			if p != (Pin{}) {
				t.Fatalf("rejected row is not zero: %+v", p)
			}
			return
		}
		if p.Ind < 0 || p.Ind > maxKey {
			t.Fatalf("bad key %d", p.Ind)
		}
		checkStr(t, "unique_id", Str{V: p.UniqueID, Valid: true})
		for col, s := range map[string]Str{"title": p.Title, "description": p.Description, "poster_name": p.PosterName,
			"tag_list": p.TagList, "is_image_or_video": p.IsImageOrVideo, "image_src": p.ImageSrc,
			"save_location": p.SaveLocation, "category": p.Category} {
			checkStr(t, col, s)
		}
		if p.SaveLocation.Valid && p.SaveLocation.V[0] != '/' {
			t.Fatalf("save_location %q", p.SaveLocation.V)
		}
		if p.FollowerCount.Valid && p.FollowerCount.V < 0 || !p.FollowerCount.Valid && p.FollowerCount.V != 0 {
			t.Fatalf("follower_count %+v", p.FollowerCount)
		}
		// Differential check of the string decoding against encoding/json.
		m := decodeMap(t, line)
		want := wantStr(m["category"])
		if p.Category != want {
			t.Fatalf("category = %+v, encoding/json reads %+v", p.Category, want)
		}
		if want := wantStr(m["title"]); want.V == "No Title Data Available" && p.Title.Valid || want.V != "No Title Data Available" && p.Title != want {
			t.Fatalf("title = %+v, encoding/json reads %+v", p.Title, want)
		}

		again, err := New().Pin(encodePin(t, p))
		if err != nil || again != p {
			t.Fatalf("not idempotent:\n first %+v\nsecond %+v (err %v)", p, again, err)
		}
	})
}

func FuzzCleanGeo(f *testing.F) {
	addSeeds(f,
		record(geoBase, nil),
		record(geoBase, map[string]string{"ind": `"5"`, "latitude": `"90"`, "longitude": `"-180.0"`, "timestamp": `"2020-08-28T03:52:47.123456789+02:00"`}),
		record(geoBase, map[string]string{"latitude": `90.0001`, "timestamp": `"2021-02-30"`, "country": `"\u00a0Côte d'Ivoire "`}),
		record(geoBase, map[string]string{"latitude": `"NaN"`, "longitude": `"0x1p-2"`, "timestamp": `"0001-01-01T00:00:00Z"`}),
		record(geoBase, map[string]string{"latitude": `-0`, "longitude": `1e-320`, "timestamp": `"9999-12-31"`}),
		record(geoBase, map[string]string{"latitude": "-", "timestamp": `"2020-08-28 24:00:00"`}),
	)
	f.Fuzz(func(t *testing.T, line []byte) {
		c := New()
		g, err := c.Geo(line)
		sameWithArena(t, line, g, err, (*Cleaner).Geo)
		checkVerdict(t, line, err)
		if err != nil {
			if g != (Geo{}) {
				t.Fatalf("rejected row is not zero: %+v", g)
			}
			return
		}
		if g.Ind < 0 || g.Ind > maxKey {
			t.Fatalf("bad key %d", g.Ind)
		}
		checkStr(t, "country", g.Country)
		if want := wantStr(decodeMap(t, line)["country"]); g.Country != want {
			t.Fatalf("country = %+v, encoding/json reads %+v", g.Country, want)
		}
		if co := g.Coordinates; co.Valid && (co.Lat < -90 || co.Lat > 90 || co.Lon < -180 || co.Lon > 180) ||
			!co.Valid && (co.Lat != 0 || co.Lon != 0) {
			t.Fatalf("coordinates %+v", co)
		}
		checkTime(t, "timestamp", g.Timestamp)

		again, err := New().Geo(encodeGeo(t, g))
		if err != nil || again != g {
			t.Fatalf("not idempotent:\n first %+v\nsecond %+v (err %v)", g, again, err)
		}
	})
}

func FuzzCleanUser(f *testing.F) {
	addSeeds(f,
		record(userBase, nil),
		record(userBase, map[string]string{"ind": `"7"`, "age": `"130"`, "last_name": "-", "date_joined": `"2015-10-24"`}),
		record(userBase, map[string]string{"age": `"200"`, "first_name": `"  "`, "date_joined": `"2015-10-24 11:23:51.5Z"`}),
		record(userBase, map[string]string{"age": `20.0`, "first_name": `null`, "last_name": `[]`}),
		record(userBase, map[string]string{"age": `"-0"`, "first_name": `"Zoë\u3000"`, "last_name": `"😀"`}),
	)
	f.Fuzz(func(t *testing.T, line []byte) {
		c := New()
		u, err := c.User(line)
		sameWithArena(t, line, u, err, (*Cleaner).User)
		checkVerdict(t, line, err)
		if err != nil {
			if u != (User{}) {
				t.Fatalf("rejected row is not zero: %+v", u)
			}
			return
		}
		if u.Ind < 0 || u.Ind > maxKey {
			t.Fatalf("bad key %d", u.Ind)
		}
		checkStr(t, "user_name", u.UserName)
		if u.Age.Valid && (u.Age.V < 0 || u.Age.V > 130) || !u.Age.Valid && u.Age.V != 0 {
			t.Fatalf("age %+v", u.Age)
		}
		checkTime(t, "date_joined", u.DateJoined)

		again, err := New().User(encodeUser(t, u))
		if err != nil || again != u {
			t.Fatalf("not idempotent:\n first %+v\nsecond %+v (err %v)", u, again, err)
		}
	})
}
