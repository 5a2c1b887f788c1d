package sample

import (
	"bytes"
	"encoding/json"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDeterminism(t *testing.T) {
	const n = 300
	a, b, other := New(7), New(7), New(8)
	tests := []struct {
		name string
		rec  func(g *Generator, i int) []byte
	}{
		{"pin", func(g *Generator, i int) []byte { return g.Row(i).PinJSON() }},
		{"geo", func(g *Generator, i int) []byte { return g.Row(i).GeoJSON() }},
		{"user", func(g *Generator, i int) []byte { return g.Row(i).UserJSON() }},
		{"dirty", func(g *Generator, i int) []byte {
			p, ge, u := g.DirtyRecords(i)
			return bytes.Join([][]byte{p, ge, u}, []byte("\n"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fwd := make([][]byte, n)
			for i := range n {
				fwd[i] = tc.rec(a, i)
			}
			same := 0
			for i := n - 1; i >= 0; i-- { // other order, other generator
				if got := tc.rec(b, i); !bytes.Equal(got, fwd[i]) {
					t.Fatalf("row %d differs between two generators of the same seed or call orders:\n%s\n%s", i, got, fwd[i])
				}
				if bytes.Equal(tc.rec(other, i), fwd[i]) {
					same++
				}
			}
			// Interleaved calls on the same generator give the same bytes.
			for _, i := range []int{5, 299, 0, 5, 17} {
				_ = tc.rec(a, i+1)
				if got := tc.rec(a, i); !bytes.Equal(got, fwd[i]) {
					t.Fatalf("row %d changed after other calls", i)
				}
			}
			if same > n/100 {
				t.Errorf("seeds 7 and 8 give %d identical records out of %d", same, n)
			}
		})
	}
}

func TestPosts(t *testing.T) {
	tests := []struct {
		name        string
		rows, count int
		wantLen     int
	}{
		{"typical", 11000, 5000, 5000},
		{"more posts than rows", 50, 500, 500},
		{"no rows", 0, 10, 0},
		{"no posts", 10, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Posts(3, tc.rows, tc.count)
			if len(got) != tc.wantLen {
				t.Fatalf("len = %d, want %d", len(got), tc.wantLen)
			}
			if !slices.Equal(got, Posts(3, tc.rows, tc.count)) {
				t.Fatal("not deterministic")
			}
			if tc.wantLen > 0 && slices.Equal(got, Posts(4, tc.rows, tc.count)) {
				t.Fatal("seeds 3 and 4 give the same posts")
			}
			seen := map[int]bool{}
			dups := 0
			for _, i := range got {
				if i < 0 || i >= tc.rows {
					t.Fatalf("row %d out of [0, %d)", i, tc.rows)
				}
				if seen[i] {
					dups++
				}
				seen[i] = true
			}
			if tc.count > tc.rows && tc.rows > 0 && dups == 0 {
				t.Fatal("no duplicates")
			}
		})
	}
}

var (
	plainRe       = regexp.MustCompile(`^[0-9]+$`)
	commasRe      = regexp.MustCompile(`^[0-9]{1,3}(,[0-9]{3})+$`)
	kRe           = regexp.MustCompile(`^[0-9]+k$`)
	decimalKRe    = regexp.MustCompile(`^[0-9]+\.[0-9]+k$`)
	mRe           = regexp.MustCompile(`^[0-9]+M$`)
	decimalMRe    = regexp.MustCompile(`^[0-9]+\.[0-9]+M$`)
	followerNumRe = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)([kKmMbB]?)$`)
)

// followerForm classifies a follower_count text.
func followerForm(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == UserInfoError:
		return "user-info-error"
	case plainRe.MatchString(s):
		return "plain" // 892
	case commasRe.MatchString(s):
		return "commas" // 10,321
	case kRe.MatchString(s):
		return "k" // 124k
	case decimalKRe.MatchString(s):
		return "decimal-k" // 2.5k
	case mRe.MatchString(s):
		return "M" // 1M
	case decimalMRe.MatchString(s):
		return "decimal-M" // 1.2M
	}
	return "junk"
}

// parseFollowers is cleaning.md's follower_count rule, for the tests.
func parseFollowers(s string) (int64, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	m := followerNumRe.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	x, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return 0, false
	}
	mul := map[string]int64{"": 1, "k": 1e3, "m": 1e6, "b": 1e9}[strings.ToLower(m[2])]
	x.Mul(x, new(big.Rat).SetInt64(mul))
	x.Add(x, big.NewRat(1, 2))
	return new(big.Int).Quo(x.Num(), x.Denom()).Int64(), true
}

func TestDirtPresent(t *testing.T) {
	const n = 10_000
	g := New(11)
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = g.Row(i)
	}
	count := func(f func(Row) bool) int {
		c := 0
		for _, r := range rows {
			if f(r) {
				c++
			}
		}
		return c
	}
	ts := strings.TrimSpace

	t.Run("follower_count forms", func(t *testing.T) {
		forms := map[string]int{}
		for _, r := range rows {
			forms[followerForm(r.Pin.FollowerCount)]++
		}
		for _, f := range []string{"plain", "commas", "k", "decimal-k", "M", "decimal-M", "user-info-error", "junk"} {
			if forms[f] == 0 {
				t.Errorf("form %s never appears (%v)", f, forms)
			}
		}
		t.Logf("forms: %v", forms)
	})

	t.Run("rates", func(t *testing.T) {
		storyDesc := StoryRate * StoryDescriptionRate
		tests := []struct {
			name string
			want float64
			is   func(Row) bool
		}{
			{"title placeholder", TitlePlaceholderRate, func(r Row) bool { return ts(r.Pin.Title) == NoTitle }},
			{"story description", storyDesc, func(r Row) bool { return ts(r.Pin.Description) == NoDescriptionStory }},
			{"no description", (1 - storyDesc) * DescriptionPlaceholderRate, func(r Row) bool { return ts(r.Pin.Description) == NoDescription }},
			{"poster user info error", UserInfoErrorRate, func(r Row) bool { return ts(r.Pin.PosterName) == UserInfoError }},
			{"follower user info error", UserInfoErrorRate + FollowerErrorOnlyRate, func(r Row) bool { return ts(r.Pin.FollowerCount) == UserInfoError }},
			{"follower junk", FollowerJunkRate, func(r Row) bool {
				_, ok := parseFollowers(r.Pin.FollowerCount)
				return !ok && ts(r.Pin.FollowerCount) != UserInfoError
			}},
			{"no tags", NoTagsRate, func(r Row) bool { return ts(r.Pin.TagList) == NoTags }},
			{"image src error", StoryRate*StoryImageSrcErrorRate + (1-StoryRate)*ImageSrcErrorRate, func(r Row) bool { return r.Pin.ImageSrc == ImageSrcError }},
			{"story", StoryRate, func(r Row) bool { return r.Pin.IsImageOrVideo == KindStory }},
			{"video", VideoRate, func(r Row) bool { return r.Pin.IsImageOrVideo == KindVideo }},
			{"save location without slash", NoSlashSaveLocationRate, func(r Row) bool { return !strings.Contains(r.Pin.SaveLocation, "/") }},
			{"padded title", PadRate, func(r Row) bool { return ts(r.Pin.Title) != r.Pin.Title }},
			{"padded country", PadRate, func(r Row) bool { return ts(r.Geo.Country) != r.Geo.Country }},
			{"first name NULL", MissingFirstNameRate + MissingBothNamesRate, func(r Row) bool { return r.User.FirstName == "" }},
			{"last name NULL", MissingLastNameRate + MissingBothNamesRate, func(r Row) bool { return r.User.LastName == "" }},
			{"both names NULL", MissingBothNamesRate, func(r Row) bool { return r.User.FirstName == "" && r.User.LastName == "" }},
			{"coordinate out of range", BadCoordinateRate, func(r Row) bool {
				return r.Geo.Latitude < -90 || r.Geo.Latitude > 90 || r.Geo.Longitude < -180 || r.Geo.Longitude > 180
			}},
			{"age out of range", BadAgeRate, func(r Row) bool { return r.User.Age < 0 || r.User.Age > 130 }},
			{"non-ASCII title", 0.25 /* from the vocabulary and EmojiTitleRate */, func(r Row) bool { return !isASCII(r.Pin.Title) }},
		}
		for _, tc := range tests {
			got := float64(count(tc.is)) / n
			if got < 0.6*tc.want || got > 1.6*tc.want {
				t.Errorf("%s: rate %.4f, want about %.4f", tc.name, got, tc.want)
			}
		}
	})

	t.Run("values", func(t *testing.T) {
		for _, r := range rows {
			p := r.Pin
			want := "Local save in /data/" + p.Category
			if !strings.Contains(p.SaveLocation, "/") {
				want = "Local save in " + p.Category
			}
			if p.SaveLocation != want || !slices.Contains(categories, p.Category) {
				t.Fatalf("row %d: category %q, save_location %q", p.Index, p.Category, p.SaveLocation)
			}
			if (p.ImageSrc == ImageSrcError) != (p.Downloaded == 0) {
				t.Fatalf("row %d: image_src %q with downloaded %d", p.Index, p.ImageSrc, p.Downloaded)
			}
			if len(p.UniqueID) != 36 || p.Index != r.Geo.Ind || p.Index != r.User.Ind {
				t.Fatalf("row %d: keys %q %d %d", p.Index, p.UniqueID, r.Geo.Ind, r.User.Ind)
			}
			for _, s := range []string{p.Title, p.Description, p.PosterName, p.TagList, r.Geo.Country, r.User.FirstName} {
				if !utf8.ValidString(s) {
					t.Fatalf("row %d: invalid UTF-8 %q", p.Index, s)
				}
			}
			if y := r.Geo.Timestamp.Year(); y < 2015 || y > 2023 || r.Geo.Timestamp.Nanosecond() != 0 {
				t.Fatalf("row %d: timestamp %v", p.Index, r.Geo.Timestamp)
			}
			if y := r.User.DateJoined.Year(); y < 2014 || y > 2022 {
				t.Fatalf("row %d: date_joined %v", p.Index, r.User.DateJoined)
			}
		}
		years := map[int]int{}
		joined := map[int]int{}
		ages := map[string]int{}
		cats := map[string]int{}
		for _, r := range rows {
			years[r.Geo.Timestamp.Year()]++
			joined[r.User.DateJoined.Year()]++
			cats[r.Pin.Category]++
			switch a := r.User.Age; {
			case a < 0 || a > 130:
				ages["bad"]++
			case a < 18:
				ages["0-17"]++
			case a <= 24:
				ages["18-24"]++
			case a <= 35:
				ages["25-35"]++
			case a <= 50:
				ages["36-50"]++
			default:
				ages["51+"]++
			}
		}
		if len(years) != 9 || len(joined) != 9 || len(ages) != 6 || len(cats) != len(categories) {
			t.Errorf("spread: post years %v, join years %v, age groups %v, categories %v", years, joined, ages, cats)
		}
		counts := make([]int, 0, len(cats))
		for _, c := range cats {
			counts = append(counts, c)
		}
		slices.Sort(counts)
		if counts[len(counts)-1] < 2*counts[0] {
			t.Errorf("categories not skewed: %v", counts)
		}
		if c := count(func(r Row) bool { return strings.ContainsAny(r.Pin.Title+r.Pin.Description, "✨🎄🔥😍") }); c == 0 {
			t.Error("no emoji")
		}
	})

	t.Run("posters reused and maxima tie", func(t *testing.T) {
		type pair struct {
			name string
			n    int64
		}
		posters := map[string]bool{}
		top := map[string][]pair{} // country -> pairs at the max
		for _, r := range rows {
			name := ts(r.Pin.PosterName)
			n, ok := parseFollowers(r.Pin.FollowerCount)
			if name == UserInfoError || !ok {
				continue
			}
			posters[name] = true
			c := ts(r.Geo.Country)
			cur := top[c]
			switch {
			case len(cur) == 0 || n > cur[0].n:
				top[c] = []pair{{name, n}}
			case n == cur[0].n && !slices.Contains(cur, pair{name, n}):
				top[c] = append(cur, pair{name, n})
			}
		}
		if len(posters) > n/3 {
			t.Errorf("%d distinct posters in %d rows: too few reused", len(posters), n)
		}
		ties := 0
		for _, ps := range top {
			if len(ps) > 1 {
				ties++
			}
		}
		if ties == 0 {
			t.Error("no country has tied most-followed posters")
		}
		t.Logf("%d posters, %d of %d countries with a tie at the max", len(posters), ties, len(top))
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func TestRecordsJSON(t *testing.T) {
	g := New(5)
	keys := map[string][]string{
		"pin": {"index", "unique_id", "title", "description", "poster_name", "follower_count", "tag_list",
			"is_image_or_video", "image_src", "downloaded", "save_location", "category"},
		"geo":  {"ind", "timestamp", "latitude", "longitude", "country"},
		"user": {"ind", "first_name", "last_name", "age", "date_joined"},
	}
	for i := range 3000 {
		r := g.Row(i)
		for table, rec := range map[string][]byte{"pin": r.PinJSON(), "geo": r.GeoJSON(), "user": r.UserJSON()} {
			m := decodeObject(t, rec)
			if m == nil {
				t.Fatalf("%s row %d: not a JSON object: %s", table, i, rec)
			}
			if got := sortedKeys(m); !slices.Equal(got, sorted(keys[table])) {
				t.Fatalf("%s row %d: keys %v, want %v", table, i, got, keys[table])
			}
		}
		p, ge, u := decodeObject(t, r.PinJSON()), decodeObject(t, r.GeoJSON()), decodeObject(t, r.UserJSON())
		checks := []struct {
			name      string
			got, want any
		}{
			{"index", p["index"], json.Number(itoa(i))},
			{"title", p["title"], r.Pin.Title},
			{"downloaded", p["downloaded"], json.Number(itoa(r.Pin.Downloaded))},
			{"ind", ge["ind"], json.Number(itoa(i))},
			{"timestamp", ge["timestamp"], r.Geo.Timestamp.Format(time.DateTime)},
			{"latitude", num(t, ge["latitude"]), r.Geo.Latitude},
			{"longitude", num(t, ge["longitude"]), r.Geo.Longitude},
			{"country", ge["country"], r.Geo.Country},
			{"first_name", u["first_name"], nullable(r.User.FirstName)},
			{"last_name", u["last_name"], nullable(r.User.LastName)},
			{"age", u["age"], json.Number(itoa(r.User.Age))},
			{"date_joined", u["date_joined"], r.User.DateJoined.Format(time.DateTime)},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Fatalf("row %d %s = %#v, want %#v", i, c.name, c.got, c.want)
			}
		}
	}
}
