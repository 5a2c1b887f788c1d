package insights

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

func str(v string) clean.Str  { return clean.Str{V: v, Valid: true} }
func i64(v int64) clean.Int64 { return clean.Int64{V: v, Valid: true} }
func age(v int32) clean.Int32 { return clean.Int32{V: v, Valid: true} }
func at(t *testing.T, s string) clean.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return clean.Time{Micros: ts.UnixMicro(), Valid: true}
}

var null = clean.Str{}

func catPin(ind int64, category clean.Str) clean.Pin {
	return clean.Pin{Ind: ind, UniqueID: "u", Category: category}
}

func fcPin(ind int64, poster clean.Str, fc clean.Int64) clean.Pin {
	return clean.Pin{Ind: ind, UniqueID: "u", PosterName: poster, FollowerCount: fc}
}

func TestCompute(t *testing.T) {
	tests := []struct {
		name string
		in   func(t *testing.T) Input
		want Tables
	}{
		{
			name: "empty",
			in:   func(*testing.T) Input { return Input{} },
		},
		{
			name: "category by country: ties, nulls, unjoined rows, byte order",
			in: func(*testing.T) Input {
				return Input{
					Pins: []clean.Pin{
						catPin(1, str("art")), catPin(2, str("beauty")), catPin(3, str("art")),
						catPin(4, str("travel")), catPin(6, str("diy")),
						catPin(5, str("art")),  // country null
						catPin(8, null),        // category null
						catPin(9, str("art")),  // no geo
						catPin(10, str("art")), // non-ASCII country sorts after "US"
					},
					Geos: []clean.Geo{
						{Ind: 1, Country: str("US")}, {Ind: 2, Country: str("US")}, {Ind: 3, Country: str("US")},
						{Ind: 4, Country: str("FR")}, {Ind: 6, Country: str("FR")}, {Ind: 5},
						{Ind: 8, Country: str("FR")}, {Ind: 7, Country: str("DE")}, {Ind: 10, Country: str("Éire")},
					},
					Users: []clean.User{{Ind: 1, Age: age(30)}}, // no category null, no fc: only table 5
				}
			},
			want: Tables{
				PopularCategoryByCountry: []CategoryByCountry{
					{"FR", "diy", 1}, {"FR", "travel", 1}, {"US", "art", 2}, {"Éire", "art", 1},
				},
				PopularCategoryByAgeGroup: []CategoryByAgeGroup{{"25-35", "art", 1}},
			},
		},
		{
			name: "category by year: bounds 2017/2018/2022/2023, ties, nulls",
			in: func(t *testing.T) Input {
				return Input{
					Pins: []clean.Pin{
						catPin(1, str("a")), catPin(2, str("b")), catPin(3, str("a")), catPin(4, str("c")),
						catPin(5, str("c")), catPin(6, str("d")), catPin(7, str("a")), catPin(8, str("a")),
						catPin(9, null),
					},
					Geos: []clean.Geo{
						{Ind: 1, Timestamp: at(t, "2017-12-31T23:59:59.999999Z")},
						{Ind: 2, Timestamp: at(t, "2018-01-01T00:00:00Z")},
						{Ind: 3, Timestamp: at(t, "2018-06-01T12:00:00Z")},
						{Ind: 4, Timestamp: at(t, "2022-12-31T23:59:59.999999Z")},
						{Ind: 5, Timestamp: at(t, "2022-05-05T00:00:00Z")},
						{Ind: 6, Timestamp: at(t, "2022-05-05T00:00:00Z")},
						{Ind: 7, Timestamp: at(t, "2023-01-01T00:00:00Z")},
						{Ind: 8},
						{Ind: 9, Timestamp: at(t, "2020-01-01T00:00:00Z")},
					},
				}
			},
			want: Tables{
				PopularCategoryByYear: []CategoryByYear{{2018, "a", 1}, {2018, "b", 1}, {2022, "c", 2}},
			},
		},
		{
			name: "most followed user: ties, duplicate pairs, nulls",
			in: func(*testing.T) Input {
				return Input{
					Pins: []clean.Pin{
						fcPin(1, str("alice"), i64(100)), fcPin(2, str("bob"), i64(100)),
						fcPin(3, str("alice"), i64(100)), fcPin(4, str("carol"), i64(50)),
						fcPin(5, null, i64(500)), fcPin(6, str("dave"), clean.Int64{}),
						fcPin(7, str("eve"), i64(300)), fcPin(8, str("frank"), i64(200)),
						fcPin(9, str("gus"), i64(300)), fcPin(10, str("zed"), i64(1000)),
						fcPin(11, str("yan"), i64(2000)), // no geo
					},
					Geos: []clean.Geo{
						{Ind: 1, Country: str("US")}, {Ind: 2, Country: str("US")}, {Ind: 3, Country: str("US")},
						{Ind: 4, Country: str("US")}, {Ind: 5, Country: str("US")}, {Ind: 6, Country: str("US")},
						{Ind: 7, Country: str("FR")}, {Ind: 8, Country: str("FR")}, {Ind: 9, Country: str("DE")},
						{Ind: 10},
					},
				}
			},
			want: Tables{
				MostFollowedUserByCountry: []FollowedUser{
					{"DE", "gus", 300}, {"FR", "eve", 300}, {"US", "alice", 100}, {"US", "bob", 100},
				},
				CountryWithMostFollowedUser: []CountryFollowers{{"DE", 300}, {"FR", 300}},
			},
		},
		{
			name: "age groups: bounds 17/18/24/25/35/36/50/51, ties, even and odd medians, all-null group",
			in: func(*testing.T) Input {
				pin := func(ind int64, cat clean.Str, fc clean.Int64) clean.Pin {
					return clean.Pin{Ind: ind, UniqueID: "u", Category: cat, FollowerCount: fc}
				}
				return Input{
					Pins: []clean.Pin{
						pin(1, str("a"), i64(10)),
						pin(2, str("a"), i64(5)), pin(3, str("b"), i64(7)),
						pin(4, str("c"), i64(3)), pin(5, str("c"), clean.Int64{}),
						pin(6, str("d"), i64(1)), pin(7, null, i64(9)),
						pin(8, str("e"), clean.Int64{}),
						pin(9, str("a"), i64(100)),
						pin(10, str("a"), i64(100)), // no user
					},
					Users: []clean.User{
						{Ind: 1, Age: age(17)}, {Ind: 2, Age: age(18)}, {Ind: 3, Age: age(24)},
						{Ind: 4, Age: age(25)}, {Ind: 5, Age: age(35)}, {Ind: 6, Age: age(36)},
						{Ind: 7, Age: age(50)}, {Ind: 8, Age: age(51)}, {Ind: 9},
					},
				}
			},
			want: Tables{
				PopularCategoryByAgeGroup: []CategoryByAgeGroup{
					{"0-17", "a", 1}, {"18-24", "a", 1}, {"18-24", "b", 1}, {"25-35", "c", 2},
					{"36-50", "d", 1}, {"51+", "e", 1},
				},
				MedianFollowersByAgeGroup: []MedianByAgeGroup{
					{"0-17", 10}, {"18-24", 5}, {"25-35", 3}, {"36-50", 1},
				},
			},
		},
		{
			name: "join years: bounds 2014/2015/2020/2021, distinct users, medians",
			in: func(t *testing.T) Input {
				user := func(ind int64, name clean.Str, joined clean.Time, a clean.Int32) clean.User {
					return clean.User{Ind: ind, UserName: name, DateJoined: joined, Age: a}
				}
				return Input{
					Pins: []clean.Pin{
						fcPin(1, null, i64(1000)), fcPin(2, null, i64(10)), fcPin(3, null, i64(30)),
						fcPin(4, null, i64(7)), fcPin(5, null, i64(1000)), fcPin(6, null, i64(20)),
						fcPin(7, null, i64(50)), fcPin(8, null, i64(60)), fcPin(9, null, i64(40)),
						fcPin(10, null, i64(99)), // no user
						fcPin(11, null, clean.Int64{}),
					},
					Users: []clean.User{
						user(1, str("Ann"), at(t, "2014-12-31T23:59:59.999999Z"), age(20)),
						user(2, str("Ben"), at(t, "2015-01-01T00:00:00Z"), age(20)),
						user(3, str("Cat"), at(t, "2015-06-01T00:00:00Z"), age(40)),
						user(4, str("Dan"), at(t, "2020-12-31T23:59:59.999999Z"), age(20)),
						user(5, str("Eve"), at(t, "2021-01-01T00:00:00Z"), age(20)),
						user(6, str("Ben"), at(t, "2015-01-01T00:00:00Z"), age(30)), // same user as 2
						user(7, null, at(t, "2016-01-01T00:00:00Z"), age(20)),
						user(8, str("Fay"), clean.Time{}, age(20)),
						user(9, str("Gus"), at(t, "2015-03-03T00:00:00Z"), clean.Int32{}),
						user(11, str("Hal"), at(t, "2017-01-01T00:00:00Z"), age(60)), // its pin has no fc
						user(12, str("Ivy"), at(t, "2017-02-01T00:00:00Z"), age(60)), // no pin
					},
				}
			},
			want: Tables{
				MedianFollowersByAgeGroup: []MedianByAgeGroup{{"18-24", 50}, {"25-35", 20}, {"36-50", 30}},
				UsersJoinedByYear:         []UsersJoined{{2015, 3}, {2017, 2}, {2020, 1}},
				MedianFollowersByJoinYear: []MedianByYear{{2015, 20}, {2016, 50}, {2020, 7}},
				MedianFollowersByAgeGroupAndJoinYear: []MedianByAgeGroupAndYear{
					{"18-24", 2015, 10}, {"18-24", 2016, 50}, {"18-24", 2020, 7}, {"25-35", 2015, 20}, {"36-50", 2015, 30},
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Compute(tc.in(t))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Compute:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestAgeGroup(t *testing.T) {
	tests := []struct {
		age    clean.Int32
		want   string
		wantOK bool
	}{
		{clean.Int32{}, "", false},
		{age(0), "0-17", true},
		{age(17), "0-17", true},
		{age(18), "18-24", true},
		{age(24), "18-24", true},
		{age(25), "25-35", true},
		{age(35), "25-35", true},
		{age(36), "36-50", true},
		{age(50), "36-50", true},
		{age(51), "51+", true},
		{age(130), "51+", true},
	}
	for _, tc := range tests {
		got, ok := AgeGroup(tc.age)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("AgeGroup(%+v) = %q, %v; want %q, %v", tc.age, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestLowerMedian(t *testing.T) {
	tests := []struct {
		name   string
		vs     []int64
		want   int64
		wantOK bool
	}{
		{"empty", nil, 0, false},
		{"one", []int64{5}, 5, true},
		{"odd", []int64{3, 1, 2}, 2, true},
		{"even", []int64{4, 1, 3, 2}, 2, true},
		{"even two", []int64{9, 1}, 1, true},
		{"duplicates", []int64{2, 1, 1}, 1, true},
		{"odd five", []int64{50, 10, 40, 20, 30}, 30, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := lowerMedian(tc.vs)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("lowerMedian = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestNames(t *testing.T) {
	names := Names()
	if len(names) != 9 {
		t.Fatalf("Names() has %d names, want 9", len(names))
	}
	for _, n := range names {
		if Schema(n) == nil {
			t.Errorf("Schema(%q) = nil", n)
		}
	}
	if Schema("nope") != nil {
		t.Error(`Schema("nope") != nil`)
	}
}

// synthetic builds a random de-duplicated input of n rows per table, with
// nulls in every column and few distinct keys, so ties and repeats abound.
func synthetic(seed uint64, n int) Input {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	countries := []string{"US", "FR", "DE", "Éire", "Chile", "japan"}
	categories := []string{"art", "beauty", "diy", "travel", "tattoos", "quotes", "finance"}
	names := []string{"Ann Lee", "Bob Ray", "Cy Ode", "Di Ng", "Ed Po"}
	pick := func(vs []string) clean.Str {
		if r.IntN(10) == 0 {
			return clean.Str{}
		}
		return clean.Str{V: vs[r.IntN(len(vs))], Valid: true}
	}
	when := func(first, last int) clean.Time {
		if r.IntN(10) == 0 {
			return clean.Time{}
		}
		lo := time.Date(first, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
		hi := time.Date(last+1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
		return clean.Time{Micros: lo + r.Int64N(hi-lo), Valid: true}
	}
	in := Input{
		Pins:  make([]clean.Pin, 0, n),
		Geos:  make([]clean.Geo, 0, n),
		Users: make([]clean.User, 0, n),
	}
	for i := range n {
		ind := int64(i)
		fc := clean.Int64{V: r.Int64N(int64(n)/4 + 10), Valid: r.IntN(10) != 0}
		in.Pins = append(in.Pins, clean.Pin{
			Ind: ind, UniqueID: "u", Category: pick(categories), PosterName: pick(names), FollowerCount: fc,
		})
		if r.IntN(8) != 0 {
			in.Geos = append(in.Geos, clean.Geo{Ind: ind, Country: pick(countries), Timestamp: when(2016, 2024)})
		}
		if r.IntN(8) != 0 {
			in.Users = append(in.Users, clean.User{
				Ind: ind, UserName: pick(names), DateJoined: when(2013, 2022),
				Age: clean.Int32{V: int32(r.IntN(80)), Valid: r.IntN(10) != 0},
			})
		}
	}
	return in
}

func TestComputeShuffleInvariant(t *testing.T) {
	in := synthetic(1, 5000)
	want := Compute(in)
	if len(want.PopularCategoryByCountry) == 0 || len(want.MedianFollowersByAgeGroupAndJoinYear) == 0 ||
		len(want.UsersJoinedByYear) == 0 || len(want.CountryWithMostFollowedUser) == 0 {
		t.Fatalf("synthetic input gives empty tables: %+v", want)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 5 {
		shuffled := Input{
			Pins:  append([]clean.Pin(nil), in.Pins...),
			Geos:  append([]clean.Geo(nil), in.Geos...),
			Users: append([]clean.User(nil), in.Users...),
		}
		r.Shuffle(len(shuffled.Pins), func(a, b int) { shuffled.Pins[a], shuffled.Pins[b] = shuffled.Pins[b], shuffled.Pins[a] })
		r.Shuffle(len(shuffled.Geos), func(a, b int) { shuffled.Geos[a], shuffled.Geos[b] = shuffled.Geos[b], shuffled.Geos[a] })
		r.Shuffle(len(shuffled.Users), func(a, b int) { shuffled.Users[a], shuffled.Users[b] = shuffled.Users[b], shuffled.Users[a] })
		if got := Compute(shuffled); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffle %d: Compute differs:\n got %+v\nwant %+v", i, got, want)
		}
	}
}
