package batch_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

func pinLine(ind int, cat, poster, fc string) string {
	c := `"category":"` + cat + `"`
	return fmt.Sprintf(`{"index":%d,"unique_id":"u-%d","title":"t","poster_name":%q,"follower_count":%q,"is_image_or_video":"image","save_location":"Local save in /data/x",%s}`, ind, ind, poster, fc, c)
}

func geoLine(ind int, country, ts string) string {
	return fmt.Sprintf(`{"ind":%d,"timestamp":%q,"latitude":1.5,"longitude":-2.25,"country":%q}`, ind, ts, country)
}

func userLine(ind int, first, last string, age int, joined string) string {
	return fmt.Sprintf(`{"ind":%d,"first_name":%q,"last_name":%q,"age":%d,"date_joined":%q}`, ind, first, last, age, joined)
}

// handBuilt is a small input whose insight tables are worked out by hand in
// handExpected: ties, duplicates (an earlier row of the same ind that must
// lose), null keys and values, year bounds, age bounds, medians of odd and
// even counts, and a group whose values are all null.
//
//	ind  pin: category poster followers  geo: country timestamp       user: name age joined
//	1    art  Ann 10k                     Albania 2018-01-01 00:00:00  Ann A 17 2015-01-01
//	2    art  Bob 20k                     Albania 2022-12-31 23:59:59  Bob B 18 2020-12-31 23:59:59
//	3    diy  Cat 20k                     Albania 2017-12-31 23:59:59  Cat C 24 2014-12-31 23:59:59
//	4    diy  Dan 5                       Benin 2023-01-01 00:00:00    Dan D 25 2021-01-01
//	5    food Eve null                    Benin 2020-05-05             Eve E 50 2018-03-03
//	6    food Fay 7                       null 2020-06-06              Fay F 45 2016-04-04
//	7    null Gus 1M                      Chad 2019-01-01              Gus G null(131) 2017-01-01
//	8    -                                Chad 2019-02-02              -
//	9,10 -                                -                            Hal H 30 2017-01-01 (the same user twice)
//	11   art  Ivy 3                       -                            Ivy I 20 2019-01-01
//	12   food Jo 8                        -                            Jo J 40 2019-06-01
//	13   diy  Kim 1.5k                    -                            Kim K 51 2020-01-01
func handBuilt() topics {
	return topics{
		lines(
			pinLine(1, "travel", "Zed", "99M"), // a duplicate of 1: loses (earlier offset)
			pinLine(1, "art", "Ann", "10k"),
			pinLine(2, "art", "Bob", "20k"),
			"",
			pinLine(3, "diy", "Cat", "20k"),
			`{"index": 99, "title": "no unique id"}`,
			pinLine(4, "diy", "Dan", "5"),
			pinLine(5, "food", "Eve", "User Info Error"),
			`not json`,
			pinLine(6, "food", "Fay", "7"),
			pinLine(7, "", "Gus", "1M"),
			pinLine(11, "art", "Ivy", "3"),
			pinLine(12, "food", "Jo", "8"),
			pinLine(13, "diy", "Kim", "1.5k"),
		),
		lines(
			geoLine(4, "Chad", "2019-03-03 00:00:00"), // a duplicate of 4: loses
			geoLine(1, "Albania", "2018-01-01 00:00:00"),
			geoLine(2, "Albania", "2022-12-31 23:59:59"),
			geoLine(3, "Albania", "2017-12-31 23:59:59"),
			geoLine(4, "Benin", "2023-01-01 00:00:00"),
			geoLine(5, "Benin", "2020-05-05 10:00:00"),
			geoLine(6, "", "2020-06-06 10:00:00"),
			geoLine(7, "Chad", "2019-01-01 00:00:00"),
			geoLine(8, "Chad", "2019-02-02 00:00:00"),
			`{"ind":"abc","country":"Nowhere"}`,
		),
		lines(
			userLine(2, "Bob", "B", 60, "2019-05-05 00:00:00"), // a duplicate of 2: loses
			userLine(1, "Ann", "A", 17, "2015-01-01 00:00:00"),
			userLine(2, "Bob", "B", 18, "2020-12-31 23:59:59"),
			userLine(3, "Cat", "C", 24, "2014-12-31 23:59:59"),
			userLine(4, "Dan", "D", 25, "2021-01-01 00:00:00"),
			userLine(5, "Eve", "E", 50, "2018-03-03 00:00:00"),
			userLine(6, "Fay", "F", 45, "2016-04-04 00:00:00"),
			userLine(7, "Gus", "G", 131, "2017-01-01 00:00:00"),
			userLine(9, "Hal", "H", 30, "2017-01-01 00:00:00"),
			userLine(10, "Hal", "H", 30, "2017-01-01 00:00:00"),
			userLine(11, "Ivy", "I", 20, "2019-01-01 00:00:00"),
			userLine(12, "Jo", "J", 40, "2019-06-01 00:00:00"),
			userLine(13, "Kim", "K", 51, "2020-01-01 00:00:00"),
		),
	}
}

// handExpected are the insight tables of handBuilt, worked out by hand.
var handExpected = map[string][][]string{
	insights.NamePopularCategoryByCountry: {
		{"country", "category", "category_count"},
		{"Albania", "art", "2"}, // art 2 > diy 1
		{"Benin", "diy", "1"},   // a tie: both kept
		{"Benin", "food", "1"},
		// Chad: its only pin has a null category; ind 6 has a null country.
	},
	insights.NamePopularCategoryByYear: {
		{"post_year", "category", "category_count"},
		{"2018", "art", "1"},  // 2018-01-01 00:00:00 is in
		{"2020", "food", "2"}, // ind 6 counts: its null country is not a key here
		{"2022", "art", "1"},  // 2022-12-31 23:59:59 is in; 2017 and 2023 are out
	},
	insights.NameMostFollowedUserByCountry: {
		{"country", "poster_name", "follower_count"},
		{"Albania", "Bob", "20000"}, // a tie at 20k
		{"Albania", "Cat", "20000"},
		{"Benin", "Dan", "5"}, // Eve's null follower count is left out
		{"Chad", "Gus", "1000000"},
	},
	insights.NameCountryWithMostFollowedUser: {
		{"country", "follower_count"},
		{"Chad", "1000000"},
	},
	insights.NamePopularCategoryByAgeGroup: {
		{"age_group", "category", "category_count"},
		{"0-17", "art", "1"},  // 17
		{"18-24", "art", "2"}, // 18 and 20 (art) beat 24 (diy)
		{"25-35", "diy", "1"}, // 25
		{"36-50", "food", "3"},
		{"51+", "diy", "1"}, // 51; Gus (age null) is left out
	},
	insights.NameMedianFollowersByAgeGroup: {
		{"age_group", "median_follower_count"},
		{"0-17", "10000"},
		{"18-24", "20000"}, // [3 20000 20000]: odd, the 2nd
		{"25-35", "5"},
		{"36-50", "7"}, // [7 8] (Eve null): even, the lower
		{"51+", "1500"},
	},
	insights.NameUsersJoinedByYear: {
		{"post_year", "number_users_joined"},
		{"2015", "1"}, // 2014-12-31 23:59:59 is out
		{"2016", "1"},
		{"2017", "2"}, // Gus, and Hal once (the same name and date twice)
		{"2018", "1"},
		{"2019", "2"},
		{"2020", "2"}, // 2020-12-31 23:59:59 is in, 2021 is out
	},
	insights.NameMedianFollowersByJoinYear: {
		{"post_year", "median_follower_count"},
		{"2015", "10000"},
		{"2016", "7"},
		{"2017", "1000000"},
		// 2018: only Eve, whose follower count is null: no row.
		{"2019", "3"},    // [3 8]
		{"2020", "1500"}, // [1500 20000]
	},
	insights.NameMedianFollowersByAgeGroupAndJoinYear: {
		{"age_group", "post_year", "median_follower_count"},
		{"0-17", "2015", "10000"},
		{"18-24", "2019", "3"},
		{"18-24", "2020", "20000"},
		{"36-50", "2016", "7"},
		{"36-50", "2019", "8"},
		{"51+", "2020", "1500"},
	},
}

func TestHandBuilt(t *testing.T) {
	dir := t.TempDir()
	in := openStore(t, filepath.Join(dir, "topics"), objstore.Options{})
	land(t, in, handBuilt(), batchtest.Layout{PerObject: 3})
	out := filepath.Join(dir, "out")
	res := runJob(t, t.Context(), batch.Config{Input: in.URL(""), Prefix: testPrefix, Tables: tablesAt(t, out), Date: "2026-11-24"})
	o := readOutput(t, tablesAt(t, out), "2026-11-24")

	for _, name := range insights.Names() {
		if got, want := o.insights[name], handExpected[name]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
	}
	if got := insightRows(t, res.Insights); !reflect.DeepEqual(got, o.insights) {
		t.Errorf("Result.Insights differ from the published tables")
	}

	var inds []int64
	for _, p := range o.pins {
		inds = append(inds, p.Ind)
	}
	if want := []int64{1, 2, 3, 4, 5, 6, 7, 11, 12, 13}; !slices.Equal(inds, want) {
		t.Errorf("pin inds %v, want %v (sorted, one per ind)", inds, want)
	}
	if p := o.pins[0]; p.Category.V != "art" || p.PosterName.V != "Ann" {
		t.Errorf("pin 1 = %+v, want the last row (art, Ann)", p)
	}
	if len(o.geos) != 8 || o.geos[3].Country.V != "Benin" {
		t.Errorf("geos = %d rows, geo 4 = %+v; want 8 rows and the last geo 4 (Benin)", len(o.geos), o.geos[3])
	}
	if len(o.users) != 12 || o.users[1].Age.V != 18 {
		t.Errorf("users = %d rows, user 2 = %+v; want 12 rows and the last user 2 (18)", len(o.users), o.users[1])
	}

	q := o.quality.Quality
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"pin rows read", q.Pin.RowsRead, 13},
		{"pin blank lines", q.Pin.BlankLines, 1},
		{"pin duplicates", q.Pin.Duplicates, 1},
		{"pin rows written", q.Pin.RowsWritten, 10},
		{"pin rejected invalid_json", q.Pin.Rejected[clean.ReasonInvalidJSON], 1},
		{"pin rejected missing_unique_id", q.Pin.Rejected[clean.ReasonMissingUniqueID], 1},
		{"pin follower_count placeholder", q.Pin.Nulls["follower_count"].Placeholder, 1},
		{"geo duplicates", q.Geo.Duplicates, 1},
		{"geo rows written", q.Geo.RowsWritten, 8},
		{"geo rejected invalid_key", q.Geo.Rejected[clean.ReasonInvalidKey], 1},
		{"user duplicates", q.User.Duplicates, 1},
		{"user rows written", q.User.RowsWritten, 12},
		{"user age unparseable", q.User.Nulls["age"].Unparseable, 1},
		{"pin lines", o.quality.Counts[clean.TablePin].Lines, 14},
		{"pin objects", o.quality.Counts[clean.TablePin].Objects, 5},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}

	// The quarantine names the object and the line (1-based) of each rejected line.
	pinQ := o.quarantine[clean.TablePin]
	if len(pinQ) != 2 {
		t.Fatalf("pin quarantine = %+v, want 2 rows", pinQ)
	}
	want0 := "124a514b9149.pin/partition=0/124a514b9149.pin+0+0000000003.json"
	if r := pinQ[0]; r.Source != want0 || r.Line != 3 || r.Reason != string(clean.ReasonMissingUniqueID) || !strings.Contains(r.Raw, "no unique id") {
		t.Errorf("pin quarantine[0] = %+v, want line 3 of %s, missing_unique_id", r, want0)
	}
	if r := pinQ[1]; r.Line != 3 || r.Raw != "not json" || r.Reason != string(clean.ReasonInvalidJSON) {
		t.Errorf("pin quarantine[1] = %+v, want line 3 of the 4th object, invalid_json", r)
	}
}

// TestSameOutputWhateverTheLayout runs the job over the same records laid out
// in different ways and read with different concurrency: the decoded output
// is the same, and for the same layout the data files are byte-identical.
func TestSameOutputWhateverTheLayout(t *testing.T) {
	in := fixture(t)
	type layoutCase struct {
		partitions, perObject int
		gz                    bool
	}
	var layouts []layoutCase
	for _, p := range []int{1, 3} {
		for _, per := range []int{1, 7, 10000} {
			for _, gz := range []bool{false, true} {
				layouts = append(layouts, layoutCase{p, per, gz})
			}
		}
	}
	if testing.Short() {
		// Three layouts that differ in each dimension, not all twelve.
		layouts = []layoutCase{{1, 7, false}, {3, 1, true}, {3, 10000, false}}
	}
	var base *output
	for _, lc := range layouts {
		dir := t.TempDir()
		src := openStore(t, filepath.Join(dir, "topics"), objstore.Options{})
		land(t, src, in, batchtest.Layout{Partitions: lc.partitions, PerObject: lc.perObject, Gzip: lc.gz})
		var first *output
		for _, cw := range [][2]int{{1, 1}, {4, 3}, {16, 0}} {
			conc, workers := cw[0], cw[1]
			name := fmt.Sprintf("partitions=%d/per=%d/gzip=%v/concurrency=%d/workers=%d", lc.partitions, lc.perObject, lc.gz, conc, workers)
			t.Run(name, func(t *testing.T) {
				outDir := filepath.Join(dir, fmt.Sprintf("out%d", conc))
				runJob(t, t.Context(), batch.Config{Input: src.URL(""), Prefix: testPrefix, Tables: tablesAt(t, outDir), Date: "2026-11-24", Concurrency: conc, Workers: workers, RowsPerFile: 500})
				o := readOutput(t, tablesAt(t, outDir), "2026-11-24")
				if first == nil {
					first = &o
				} else {
					sameBytes(t, *first, o)
				}
				if base == nil {
					base = &o
					return
				}
				sameRows(t, *base, o)
			})
		}
	}
}

// sameRows compares decoded output that must not depend on the layout.
func sameRows(t *testing.T, want, got output) {
	t.Helper()
	if !reflect.DeepEqual(got.pins, want.pins) {
		t.Errorf("clean pins differ (%d rows vs %d)", len(got.pins), len(want.pins))
	}
	if !reflect.DeepEqual(got.geos, want.geos) {
		t.Errorf("clean geos differ (%d rows vs %d)", len(got.geos), len(want.geos))
	}
	if !reflect.DeepEqual(got.users, want.users) {
		t.Errorf("clean users differ (%d rows vs %d)", len(got.users), len(want.users))
	}
	if !reflect.DeepEqual(got.insights, want.insights) {
		t.Errorf("insights differ:\n got %v\nwant %v", got.insights, want.insights)
	}
	if !slices.Equal(quarantineKeys(got), quarantineKeys(want)) {
		t.Errorf("quarantine differs")
	}
	if !reflect.DeepEqual(got.quality.Quality, want.quality.Quality) {
		t.Errorf("quality differs:\n got %+v\nwant %+v", got.quality.Quality, want.quality.Quality)
	}
	for _, tb := range clean.Tables {
		if g, w := got.quality.Counts[tb].Lines, want.quality.Counts[tb].Lines; g != w {
			t.Errorf("%s lines = %d, want %d", tb, g, w)
		}
	}
}

// sameBytes compares two runs over the same objects: every data file is
// byte-identical, and quality.json differs only in its run section.
func sameBytes(t *testing.T, want, got output) {
	t.Helper()
	if !slices.Equal(got.files, want.files) {
		t.Fatalf("files %v, want %v", got.files, want.files)
	}
	for f, data := range want.raw {
		if !bytes.Equal(got.raw[f], data) {
			t.Errorf("%s is not byte-identical", f)
		}
	}
	g, w := got.quality, want.quality
	g.Run, w.Run = batch.RunInfo{}, batch.RunInfo{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("quality.json counts differ:\n got %+v\nwant %+v", g, w)
	}
}

// TestLongLines reads objects whose lines straddle the read buffers and one
// line longer than a buffer: line numbers, offsets and the quarantine are
// those of the lines as written.
func TestLongLines(t *testing.T) {
	in := fixture(t)
	long := `{"ind": 1, "junk": "` + strings.Repeat("x", 700<<10) + `"`
	var pins [][]byte
	for i, l := range in[0] {
		pins = append(pins, l)
		if i == 3 {
			pins = append(pins, []byte(long))
		}
	}
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			dir := t.TempDir()
			src := openStore(t, filepath.Join(dir, "topics"), objstore.Options{})
			land(t, src, topics{pins, in[1], in[2]}, batchtest.Layout{Gzip: gz})
			runJob(t, t.Context(), batch.Config{Input: src.URL(""), Prefix: testPrefix, Tables: tablesAt(t, filepath.Join(dir, "out")), Date: "2026-11-24"})
			o := readOutput(t, tablesAt(t, filepath.Join(dir, "out")), "2026-11-24")
			var found bool
			for _, r := range o.quarantine[clean.TablePin] {
				if strings.HasPrefix(r.Raw, `{"ind": 1, "junk"`) {
					found = true
					if r.Line != 5 || r.Reason != string(clean.ReasonInvalidJSON) || len(r.Raw) != clean.MaxRawBytes {
						t.Errorf("long line quarantined as line %d, reason %s, %d raw bytes; want line 5, invalid_json, %d bytes", r.Line, r.Reason, len(r.Raw), clean.MaxRawBytes)
					}
				}
			}
			if !found {
				t.Errorf("the long line is not in the quarantine")
			}
			want := fileRun(t, in, batchtest.Layout{})
			if got, w := o.quality.Counts[clean.TablePin].Lines, want.quality.Counts[clean.TablePin].Lines+1; got != w {
				t.Errorf("pin lines = %d, want %d", got, w)
			}
		})
	}
}
