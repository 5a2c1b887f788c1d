package sample

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/fixture from the generator")

// The checked-in fixture, testdata/fixture/{pin,geo,user}.jsonl: the dirty
// records of fixtureSeed for fixturePosts draws over fixtureRows rows, then
// one row for each kind of dirt in showcase, then the hand-written lines.
const (
	fixtureDir   = "../../testdata/fixture"
	fixtureSeed  = 20240607
	fixtureRows  = 40
	fixturePosts = 40
)

// showcase picks, for each kind of dirt, the first row at or after
// fixtureRows that shows it, so the small fixture holds every kind.
var showcase = []struct {
	name string
	is   func(r Row, d [3]dirt) bool
}{
	{"pin truncated", func(_ Row, d [3]dirt) bool { return d[0]&dirtTruncated != 0 }},
	{"pin not an object", func(_ Row, d [3]dirt) bool { return d[0]&dirtNotObject != 0 }},
	{"pin missing index", func(_ Row, d [3]dirt) bool { return d[0]&dirtMissingKey != 0 }},
	{"pin invalid index", func(_ Row, d [3]dirt) bool { return d[0]&dirtBadKey != 0 }},
	{"pin missing unique_id", func(_ Row, d [3]dirt) bool { return d[0]&dirtMissingUniqueID != 0 }},
	{"pin ind alias", func(_ Row, d [3]dirt) bool { return d[0]&dirtIndAlias != 0 }},
	{"pin extra key", func(_ Row, d [3]dirt) bool { return d[0]&dirtExtraKey != 0 }},
	{"pin blank line", func(_ Row, d [3]dirt) bool { return d[0]&dirtBlankLine != 0 }},
	{"geo truncated", func(_ Row, d [3]dirt) bool { return d[1]&dirtTruncated != 0 }},
	{"geo not an object", func(_ Row, d [3]dirt) bool { return d[1]&dirtNotObject != 0 }},
	{"geo missing ind", func(_ Row, d [3]dirt) bool { return d[1]&dirtMissingKey != 0 }},
	{"geo bad timestamp", func(_ Row, d [3]dirt) bool { return d[1]&dirtBadTimestamp != 0 }},
	{"user invalid ind", func(_ Row, d [3]dirt) bool { return d[2]&dirtBadKey != 0 }},
	{"user bad timestamp", func(_ Row, d [3]dirt) bool { return d[2]&dirtBadTimestamp != 0 }},
	{"user blank line", func(_ Row, d [3]dirt) bool { return d[2]&dirtBlankLine != 0 }},
	{"story pin", func(r Row, _ [3]dirt) bool { return r.Pin.IsImageOrVideo == KindStory }},
	{"follower junk", func(r Row, _ [3]dirt) bool { return followerForm(r.Pin.FollowerCount) == "junk" }},
	{"follower commas", func(r Row, _ [3]dirt) bool { return followerForm(r.Pin.FollowerCount) == "commas" }},
	{"user info error", func(r Row, _ [3]dirt) bool { return strings.TrimSpace(r.Pin.PosterName) == UserInfoError }},
	{"save location without /", func(r Row, _ [3]dirt) bool { return !strings.Contains(r.Pin.SaveLocation, "/") }},
	{"coordinate out of range", func(r Row, _ [3]dirt) bool {
		return r.Geo.Latitude > 90 || r.Geo.Latitude < -90 || r.Geo.Longitude > 180 || r.Geo.Longitude < -180
	}},
	{"age out of range", func(r Row, _ [3]dirt) bool { return r.User.Age < 0 || r.User.Age > 130 }},
	{"both names NULL", func(r Row, _ [3]dirt) bool { return r.User.FirstName == "" && r.User.LastName == "" }},
	{"NBSP padding", func(r Row, _ [3]dirt) bool {
		return strings.Contains(r.Pin.Title+r.Pin.PosterName+r.Pin.FollowerCount+r.Geo.Country, "\u00a0")
	}},
}

// fixtureRowNumbers returns the rows of the generated part of the fixture.
func fixtureRowNumbers(t *testing.T, g *Generator) []int {
	t.Helper()
	out := Posts(fixtureSeed, fixtureRows, fixturePosts)
	for _, s := range showcase {
		found := false
		for i := fixtureRows; i < 100_000 && !found; i++ {
			if slices.Contains(out, i) {
				continue
			}
			_, kinds := g.dirty(i)
			if s.is(g.Row(i), kinds) {
				out = append(out, i)
				found = true
			}
		}
		if !found {
			t.Fatalf("no row shows %s", s.name)
		}
	}
	return out
}

// Hand-written lines appended after the generated ones; testdata/fixture/
// README.md says what each tests. Inds 9000xx never come from the generator.
var handwritten = map[string][]string{
	"pin": {
		// Ties: Aruba has two posters at 250,000,000, Benin one (twice, in two forms); both countries
		// tie for the top user; each country ties between travel and art.
		`{"index":900001,"unique_id":"00000000-0000-4000-8000-000000900001","title":"Tie one","description":"Tied maximum","poster_name":"Tie Alpha","follower_count":"250M","tag_list":"Ties","is_image_or_video":"image","image_src":"https://i.pinimg.com/originals/00/00/01/tie1.jpg","downloaded":1,"save_location":"Local save in /data/travel","category":"travel"}`,
		`{"index":900002,"unique_id":"00000000-0000-4000-8000-000000900002","title":"Tie two","description":"Tied maximum","poster_name":"Tie Beta","follower_count":"250,000,000","tag_list":"Ties","is_image_or_video":"video","image_src":"https://i.pinimg.com/originals/00/00/02/tie2.jpg","downloaded":1,"save_location":"Local save in /data/art","category":"art"}`,
		`{"index":900003,"unique_id":"00000000-0000-4000-8000-000000900003","title":"Tie three","description":"Tied maximum","poster_name":"Tie Gamma","follower_count":"0.25B","tag_list":"Ties","is_image_or_video":"image","image_src":"https://i.pinimg.com/originals/00/00/03/tie3.jpg","downloaded":1,"save_location":"Local save in /data/travel","category":"travel"}`,
		`{"index":900004,"unique_id":"00000000-0000-4000-8000-000000900004","title":"Tie four","description":"Tied maximum","poster_name":"Tie Gamma","follower_count":"250000k","tag_list":"Ties","is_image_or_video":"image","image_src":"https://i.pinimg.com/originals/00/00/04/tie4.jpg","downloaded":1,"save_location":"Local save in /data/art","category":"art"}`,
		// Duplicate ind: this first version is replaced by the one at the end of the file.
		`{"index":900005,"unique_id":"00000000-0000-4000-8000-000000900005","title":"First version (dropped by the batch job)","description":"Duplicate","poster_name":"Dup Poster","follower_count":"1k","tag_list":"Dup","is_image_or_video":"image","image_src":"https://i.pinimg.com/originals/00/00/05/dup.jpg","downloaded":1,"save_location":"Local save in /data/finance","category":"finance"}`,
		// Nulls: every nullable field JSON null; then every field but the keys missing.
		`{"index":900006,"unique_id":"00000000-0000-4000-8000-000000900006","title":null,"description":null,"poster_name":null,"follower_count":null,"tag_list":null,"is_image_or_video":null,"image_src":null,"downloaded":null,"save_location":null,"category":null}`,
		`{"index":900007,"unique_id":"00000000-0000-4000-8000-000000900007"}`,
		// Empty index (counts as absent, ind used) and padded placeholders.
		`{"index":"","ind":900008,"unique_id":" 00000000-0000-4000-8000-000000900008 ","title":" No Title Data Available\u00a0","description":"\tNo description available ","poster_name":"User Info Error ","follower_count":" User Info Error","tag_list":"N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e\u3000","is_image_or_video":"multi-video(story page format)","image_src":"Image src error. ","downloaded":0,"save_location":"Local save in","category":"  art  "}`,
		// Year bounds (the geo and user lines of 900010-900016 carry the timestamps).
		`{"index":900010,"unique_id":"00000000-0000-4000-8000-000000900010","title":"Year bound","description":"Year bound","poster_name":"Year Bound","follower_count":"100","tag_list":"Years","is_image_or_video":"image","image_src":"https://i.pinimg.com/originals/00/00/10/y.jpg","downloaded":1,"save_location":"Local save in /data/vehicles","category":"vehicles"}`,
		`{"index":900011,"unique_id":"00000000-0000-4000-8000-000000900011","title":"Year bound","description":"Year bound","poster_name":"Year Bound","follower_count":"200","tag_list":"Years","is_image_or_video":"image","image_src":"https://i.pinimg.com/originals/00/00/11/y.jpg","downloaded":1,"save_location":"Local save in /data/vehicles","category":"vehicles"}`,
		`{"index":900012,"unique_id":"00000000-0000-4000-8000-000000900012","title":"Year bound","description":"Year bound","poster_name":"Year Bound","follower_count":"300","tag_list":"Years","is_image_or_video":"image","image_src":"https://i.pinimg.com/originals/00/00/12/y.jpg","downloaded":1,"save_location":"Local save in /data/vehicles","category":"vehicles"}`,
		`{"index":900013,"unique_id":"00000000-0000-4000-8000-000000900013","title":"Year bound","description":"Year bound","poster_name":"Year Bound","follower_count":"400","tag_list":"Years","is_image_or_video":"image","image_src":"https://i.pinimg.com/originals/00/00/13/y.jpg","downloaded":1,"save_location":"Local save in /data/vehicles","category":"vehicles"}`,
		`{"index":900014,"unique_id":"00000000-0000-4000-8000-000000900014","title":"Year bound","description":"Year bound","poster_name":"Year Bound","follower_count":"500","tag_list":"Years","is_image_or_video":"image","image_src":"https://i.pinimg.com/originals/00/00/14/y.jpg","downloaded":1,"save_location":"Local save in /data/vehicles","category":"vehicles"}`,
		`{"index":900015,"unique_id":"00000000-0000-4000-8000-000000900015","title":"Year bound","description":"Year bound","poster_name":"Year Bound","follower_count":"600","tag_list":"Years","is_image_or_video":"image","image_src":"https://i.pinimg.com/originals/00/00/15/y.jpg","downloaded":1,"save_location":"Local save in /data/vehicles","category":"vehicles"}`,
		`{"index":900016,"unique_id":"00000000-0000-4000-8000-000000900016","title":"Year bound","description":"Year bound","poster_name":"Year Bound","follower_count":"700","tag_list":"Years","is_image_or_video":"image","image_src":"https://i.pinimg.com/originals/00/00/16/y.jpg","downloaded":1,"save_location":"Local save in /data/vehicles","category":"vehicles"}`,
		// Age bounds (user lines 900020-900035), each with a follower_count form of cleaning.md.
		`{"index":900020,"unique_id":"00000000-0000-4000-8000-000000900020","poster_name":"Age Bound","follower_count":"3.14159k","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900021,"unique_id":"00000000-0000-4000-8000-000000900021","poster_name":"Age Bound","follower_count":"0.5","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900022,"unique_id":"00000000-0000-4000-8000-000000900022","poster_name":"Age Bound","follower_count":"1.5","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900023,"unique_id":"00000000-0000-4000-8000-000000900023","poster_name":"Age Bound","follower_count":"2.5","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900024,"unique_id":"00000000-0000-4000-8000-000000900024","poster_name":"Age Bound","follower_count":"10,321","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900025,"unique_id":"00000000-0000-4000-8000-000000900025","poster_name":"Age Bound","follower_count":"1.2M","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900026,"unique_id":"00000000-0000-4000-8000-000000900026","poster_name":"Age Bound","follower_count":"1e3","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900027,"unique_id":"00000000-0000-4000-8000-000000900027","poster_name":"Age Bound","follower_count":" 999 ","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900028,"unique_id":"00000000-0000-4000-8000-000000900028","poster_name":"Age Bound","follower_count":"0.1b","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900029,"unique_id":"00000000-0000-4000-8000-000000900029","poster_name":"Age Bound","follower_count":"12.5.3","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900030,"unique_id":"00000000-0000-4000-8000-000000900030","poster_name":"Age Bound","follower_count":"1,2,3","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900031,"unique_id":"00000000-0000-4000-8000-000000900031","poster_name":"Age Bound","follower_count":"2.5K","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900032,"unique_id":"00000000-0000-4000-8000-000000900032","poster_name":"Age Bound","follower_count":"7m","category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900033,"unique_id":"00000000-0000-4000-8000-000000900033","poster_name":"Age Bound","follower_count":42,"category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900034,"unique_id":"00000000-0000-4000-8000-000000900034","poster_name":"Age Bound","follower_count":1.5,"category":"education","save_location":"Local save in /data/education"}`,
		`{"index":900035,"unique_id":"00000000-0000-4000-8000-000000900035","poster_name":"Age Bound","follower_count":"-5","category":"education","save_location":"Local save in /data/education"}`,
		``,
		" \t ",
		// The second version of 900005, with the key as a string: the batch job keeps this one.
		`{"index":"900005","unique_id":"00000000-0000-4000-8000-000000900005","title":"Second version (kept by the batch job)","description":"Duplicate","poster_name":"Dup Poster","follower_count":"2k","tag_list":"Dup","is_image_or_video":"video","image_src":"https://i.pinimg.com/originals/00/00/05/dup2.jpg","downloaded":1,"save_location":"Local save in /data/quotes","category":"quotes"}`,
	},
	"geo": {
		`{"ind":900001,"timestamp":"2019-05-05 10:00:00","latitude":12.5,"longitude":-70,"country":"Aruba"}`,
		`{"ind":900002,"timestamp":"2019-05-06 10:00:00","latitude":12.5,"longitude":-70,"country":"Aruba"}`,
		`{"ind":900003,"timestamp":"2019-05-07 10:00:00","latitude":9.3,"longitude":2.3,"country":"Benin"}`,
		`{"ind":900004,"timestamp":"2019-05-08 10:00:00","latitude":9.3,"longitude":2.3,"country":"Benin"}`,
		`{"ind":900005,"timestamp":"2019-01-01 00:00:00","latitude":-9.2,"longitude":-171.8,"country":"Tokelau"}`,
		`{"ind":900006,"timestamp":null,"latitude":null,"longitude":12.5,"country":null}`,
		`{"ind":900007}`,
		`{"ind":900008,"timestamp":"","latitude":"","longitude":"  ","country":" \u00a0"}`,
		`{"ind":900010,"timestamp":"2017-12-31 23:59:59","latitude":-9.2,"longitude":-171.8,"country":"Tokelau"}`,
		`{"ind":900011,"timestamp":"2018-01-01 00:00:00","latitude":-9.2,"longitude":-171.8,"country":"Tokelau"}`,
		`{"ind":900012,"timestamp":"2022-12-31 23:59:59.999999999","latitude":-9.2,"longitude":-171.8,"country":"Tokelau"}`,
		`{"ind":900013,"timestamp":"2023-01-01 00:00:00","latitude":-9.2,"longitude":-171.8,"country":"Tokelau"}`,
		`{"ind":900014,"timestamp":"2023-01-01T01:30:00+02:00","latitude":-9.2,"longitude":-171.8,"country":"Tokelau"}`,
		`{"ind":900015,"timestamp":"2017-12-31T23:30:00-01:00","latitude":-9.2,"longitude":-171.8,"country":"Tokelau"}`,
		`{"ind":900016,"timestamp":"2018-01-01","latitude":-9.2,"longitude":-171.8,"country":"Tokelau"}`,
		// Coordinate bounds.
		`{"ind":900020,"timestamp":"2020-06-01 12:00:00","latitude":90,"longitude":180,"country":"Niue"}`,
		`{"ind":900021,"timestamp":"2020-06-01 12:00:00","latitude":-90,"longitude":-180,"country":"Niue"}`,
		`{"ind":900022,"timestamp":"2020-06-01 12:00:00","latitude":90.0001,"longitude":0,"country":"Niue"}`,
		`{"ind":900023,"timestamp":"2020-06-01 12:00:00","latitude":0,"longitude":-180.0001,"country":"Niue"}`,
		`{"ind":900024,"timestamp":"2020-06-01 12:00:00","latitude":"-45.5","longitude":" 170.25 ","country":"Niue"}`,
		`{"ind":900025,"timestamp":"2020-06-01 12:00:00","latitude":"north","longitude":10,"country":"Niue"}`,
		``,
		`{"ind":"900005","timestamp":"2020-01-01 00:00:00","latitude":-9.2,"longitude":-171.8,"country":"Tokelau"}`,
	},
	"user": {
		// The four tie rows share one user: one distinct (user_name, date_joined) pair.
		`{"ind":900001,"first_name":"Tie","last_name":"Twin","age":30,"date_joined":"2019-03-03 03:03:03"}`,
		`{"ind":900002,"first_name":"Tie","last_name":"Twin","age":30,"date_joined":"2019-03-03 03:03:03"}`,
		`{"ind":900003,"first_name":"Tie","last_name":"Twin","age":30,"date_joined":"2019-03-03T03:03:03Z"}`,
		`{"ind":900004,"first_name":" Tie","last_name":"Twin\t","age":"30","date_joined":"2019-03-03 04:03:03+01:00"}`,
		`{"ind":900005,"first_name":"Dup","last_name":"User","age":40,"date_joined":"2016-06-06 06:06:06"}`,
		`{"ind":900006,"first_name":null,"last_name":null,"age":null,"date_joined":null}`,
		`{"ind":900007,"first_name":"Solo","last_name":null,"age":"  ","date_joined":""}`,
		`{"ind":900008,"first_name":null,"last_name":"Único","age":33,"date_joined":"2018-08-08T08:08:08Z"}`,
		`{"ind":900010,"first_name":"Year","last_name":"Bound","age":30,"date_joined":"2014-12-31 23:59:59"}`,
		`{"ind":900011,"first_name":"Year","last_name":"Bound","age":30,"date_joined":"2015-01-01 00:00:00"}`,
		`{"ind":900012,"first_name":"Year","last_name":"Bound","age":30,"date_joined":"2020-12-31 23:59:59"}`,
		`{"ind":900013,"first_name":"Year","last_name":"Bound","age":30,"date_joined":"2021-01-01 00:00:00"}`,
		`{"ind":900014,"first_name":"Year","last_name":"Bound","age":30,"date_joined":"2021-01-01T00:30:00+01:00"}`,
		`{"ind":900015,"first_name":"Year","last_name":"Bound","age":30,"date_joined":"2014-12-31T23:00:00-02:00"}`,
		`{"ind":900016,"first_name":"Year","last_name":"Bound","age":30,"date_joined":"2020-02-30 10:00:00"}`,
		`{"ind":900020,"first_name":"Age","last_name":"Bound","age":-1,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900021,"first_name":"Age","last_name":"Bound","age":0,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900022,"first_name":"Age","last_name":"Bound","age":17,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900023,"first_name":"Age","last_name":"Bound","age":18,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900024,"first_name":"Age","last_name":"Bound","age":24,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900025,"first_name":"Age","last_name":"Bound","age":25,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900026,"first_name":"Age","last_name":"Bound","age":35,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900027,"first_name":"Age","last_name":"Bound","age":36,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900028,"first_name":"Age","last_name":"Bound","age":50,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900029,"first_name":"Age","last_name":"Bound","age":51,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900030,"first_name":"Age","last_name":"Bound","age":130,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900031,"first_name":"Age","last_name":"Bound","age":131,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900032,"first_name":"Age","last_name":"Bound","age":" 20 ","date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900033,"first_name":"Age","last_name":"Bound","age":20.0,"date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900034,"first_name":"Age","last_name":"Bound","age":"+30","date_joined":"2017-07-07 07:07:07"}`,
		`{"ind":900035,"first_name":" ","last_name":"\t","age":"abc","date_joined":"2017-07-07 07:07:07"}`,
		`   `,
		`{"ind":"900005","first_name":"Dup","last_name":"User","age":41,"date_joined":"2016-06-06 06:06:06"}`,
	},
}

// fixture returns the contents of the fixture files.
func fixture(t *testing.T) map[string][]byte {
	t.Helper()
	g := New(fixtureSeed)
	files := map[string]*bytes.Buffer{"pin": {}, "geo": {}, "user": {}}
	for _, i := range fixtureRowNumbers(t, g) {
		p, ge, u := g.DirtyRecords(i)
		for name, rec := range map[string][]byte{"pin": p, "geo": ge, "user": u} {
			files[name].Write(rec)
			files[name].WriteByte('\n')
		}
	}
	out := map[string][]byte{}
	for name, b := range files {
		for _, l := range handwritten[name] {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		out[name] = b.Bytes()
	}
	return out
}

func TestFixture(t *testing.T) {
	want := fixture(t)
	for _, name := range []string{"pin", "geo", "user"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(fixtureDir, name+".jsonl")
			if *update {
				if err := os.WriteFile(path, want[name], 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading fixture: %v (regenerate with `go test ./pkg/sample -run TestFixture -update`)", err)
			}
			if bytes.Equal(got, want[name]) {
				return
			}
			gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want[name], []byte("\n"))
			for k := range max(len(gl), len(wl)) {
				var g, w []byte
				if k < len(gl) {
					g = gl[k]
				}
				if k < len(wl) {
					w = wl[k]
				}
				if !bytes.Equal(g, w) {
					t.Fatalf("%s line %d differs from the generator's output:\n got %q\nwant %q\n"+
						"regenerate with `go test ./pkg/sample -run TestFixture -update` if the change is intended",
						path, k+1, g, w)
				}
			}
		})
	}
}

func TestHandwrittenLines(t *testing.T) {
	// Every non-blank hand-written line is one valid JSON object.
	for name, lines := range handwritten {
		for k, l := range lines {
			if strings.TrimSpace(l) == "" {
				continue
			}
			if decodeObject(t, []byte(l)) == nil {
				t.Errorf("%s hand-written line %d is not a JSON object: %s", name, k, l)
			}
		}
	}
}
