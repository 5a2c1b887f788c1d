// Package insights computes the nine insight tables of insights.md from the
// clean, de-duplicated pin, geo and user tables. It is pure: no I/O, no logging.
//
// Results are exact and deterministic: the same rows, in the same order,
// whatever the order of the input rows.
package insights

import (
	"cmp"
	"slices"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// Input holds the three clean tables.
//
// Each table must already be de-duplicated: at most one row per ind (the batch
// rule of cleaning.md). Compute assumes it; if a geo or user table holds two
// rows with the same ind, the later one is used for the join, and the result
// then depends on input order.
type Input struct {
	Pins  []clean.Pin
	Geos  []clean.Geo
	Users []clean.User
}

// CategoryByCountry is a row of popular_category_by_country.
type CategoryByCountry struct {
	Country       string
	Category      string
	CategoryCount int64
}

// CategoryByYear is a row of popular_category_by_year.
type CategoryByYear struct {
	PostYear      int32
	Category      string
	CategoryCount int64
}

// FollowedUser is a row of most_followed_user_by_country.
type FollowedUser struct {
	Country       string
	PosterName    string
	FollowerCount int64
}

// CountryFollowers is a row of country_with_most_followed_user.
type CountryFollowers struct {
	Country       string
	FollowerCount int64
}

// CategoryByAgeGroup is a row of popular_category_by_age_group.
type CategoryByAgeGroup struct {
	AgeGroup      string
	Category      string
	CategoryCount int64
}

// MedianByAgeGroup is a row of median_followers_by_age_group.
type MedianByAgeGroup struct {
	AgeGroup            string
	MedianFollowerCount int64
}

// UsersJoined is a row of users_joined_by_year.
type UsersJoined struct {
	PostYear          int32
	NumberUsersJoined int64
}

// MedianByYear is a row of median_followers_by_join_year.
type MedianByYear struct {
	PostYear            int32
	MedianFollowerCount int64
}

// MedianByAgeGroupAndYear is a row of median_followers_by_age_group_and_join_year.
type MedianByAgeGroupAndYear struct {
	AgeGroup            string
	PostYear            int32
	MedianFollowerCount int64
}

// Tables holds the nine insight tables, each already in its insights.md order.
// An empty table is a nil slice.
type Tables struct {
	PopularCategoryByCountry             []CategoryByCountry
	PopularCategoryByYear                []CategoryByYear
	MostFollowedUserByCountry            []FollowedUser
	CountryWithMostFollowedUser          []CountryFollowers
	PopularCategoryByAgeGroup            []CategoryByAgeGroup
	MedianFollowersByAgeGroup            []MedianByAgeGroup
	UsersJoinedByYear                    []UsersJoined
	MedianFollowersByJoinYear            []MedianByYear
	MedianFollowersByAgeGroupAndJoinYear []MedianByAgeGroupAndYear
}

// The table names of insights.md, in order.
const (
	NamePopularCategoryByCountry             = "popular_category_by_country"
	NamePopularCategoryByYear                = "popular_category_by_year"
	NameMostFollowedUserByCountry            = "most_followed_user_by_country"
	NameCountryWithMostFollowedUser          = "country_with_most_followed_user"
	NamePopularCategoryByAgeGroup            = "popular_category_by_age_group"
	NameMedianFollowersByAgeGroup            = "median_followers_by_age_group"
	NameUsersJoinedByYear                    = "users_joined_by_year"
	NameMedianFollowersByJoinYear            = "median_followers_by_join_year"
	NameMedianFollowersByAgeGroupAndJoinYear = "median_followers_by_age_group_and_join_year"
)

// Names lists the nine table names of insights.md in order.
func Names() []string {
	return []string{
		NamePopularCategoryByCountry,
		NamePopularCategoryByYear,
		NameMostFollowedUserByCountry,
		NameCountryWithMostFollowedUser,
		NamePopularCategoryByAgeGroup,
		NameMedianFollowersByAgeGroup,
		NameUsersJoinedByYear,
		NameMedianFollowersByJoinYear,
		NameMedianFollowersByAgeGroupAndJoinYear,
	}
}

// Year ranges of insights.md, bounds inclusive.
const (
	postYearFirst = 2018 // popular_category_by_year
	postYearLast  = 2022
	joinYearFirst = 2015 // users_joined_by_year and the join-year medians
	joinYearLast  = 2020
	numJoinYears  = joinYearLast - joinYearFirst + 1
)

// ageGroups are the age_group labels; their index is the group id. Their byte
// order is their numeric order.
var ageGroups = [...]string{"0-17", "18-24", "25-35", "36-50", "51+"}

const numAgeGroups = len(ageGroups)

// ageGroupID returns the index in ageGroups of age, or -1 when age is null.
func ageGroupID(age clean.Int32) int {
	if !age.Valid {
		return -1
	}
	switch a := age.V; {
	case a < 18:
		return 0
	case a <= 24:
		return 1
	case a <= 35:
		return 2
	case a <= 50:
		return 3
	default:
		return 4
	}
}

// AgeGroup returns the age_group of age: "0-17" (< 18), "18-24", "25-35",
// "36-50" or "51+" (>= 51). It returns false when age is null.
func AgeGroup(age clean.Int32) (string, bool) {
	id := ageGroupID(age)
	if id < 0 {
		return "", false
	}
	return ageGroups[id], true
}

// yearOf is the calendar year of a UTC instant in microseconds.
func yearOf(micros int64) int32 {
	return int32(time.UnixMicro(micros).UTC().Year())
}

// lowerMedian sorts vs and returns the element at 1-based position ceil(n/2).
// It returns false when vs is empty.
func lowerMedian(vs []int64) (int64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	return vs[(len(vs)+1)/2-1], true
}

// indIndex maps an ind to the position of its row in a table. When the inds
// are dense enough (clean inds are in [0, 2^31-1], and usually close to 0..n)
// it is a slice indexed by ind; otherwise a map.
type indIndex struct {
	dense  []int32 // position+1 by ind; 0 means absent
	sparse map[int64]int32
}

func newIndIndex(n int, ind func(int) int64) indIndex {
	var lo, hi int64
	for i := range n {
		v := ind(i)
		if i == 0 || v < lo {
			lo = v
		}
		if i == 0 || v > hi {
			hi = v
		}
	}
	if n > 0 && lo >= 0 && hi < 4*int64(n)+1024 {
		dense := make([]int32, hi+1)
		for i := range n {
			dense[ind(i)] = int32(i) + 1
		}
		return indIndex{dense: dense}
	}
	sparse := make(map[int64]int32, n)
	for i := range n {
		sparse[ind(i)] = int32(i)
	}
	return indIndex{sparse: sparse}
}

func (x indIndex) lookup(ind int64) (int32, bool) {
	if x.dense != nil {
		if ind < 0 || ind >= int64(len(x.dense)) || x.dense[ind] == 0 {
			return 0, false
		}
		return x.dense[ind] - 1, true
	}
	i, ok := x.sparse[ind]
	return i, ok
}

// interner maps strings to dense ids, so group keys are small integers.
type interner struct {
	ids   map[string]int32
	names []string
}

func newInterner() *interner { return &interner{ids: make(map[string]int32)} }

func (in *interner) id(s string) int32 {
	if id, ok := in.ids[s]; ok {
		return id
	}
	id := int32(len(in.names))
	in.ids[s] = id
	in.names = append(in.names, s)
	return id
}

// pairKey packs two 32-bit ids into one map key.
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func unpairKey(k uint64) (int32, int32) { return int32(uint32(k >> 32)), int32(uint32(k)) }

// topCount is one (group, category) count that is the maximum of its group.
type topCount struct {
	group, category int32
	count           int64
}

// topByGroup keeps, for every group of counts (keyed by pairKey(group,
// category)), every category whose count is the group's maximum.
func topByGroup(counts map[uint64]int64) []topCount {
	maxOf := make(map[int32]int64)
	for k, n := range counts {
		g, _ := unpairKey(k)
		if n > maxOf[g] {
			maxOf[g] = n
		}
	}
	var out []topCount
	for k, n := range counts {
		g, c := unpairKey(k)
		if n == maxOf[g] {
			out = append(out, topCount{group: g, category: c, count: n})
		}
	}
	return out
}

// countryTop tracks the largest follower count of a country and the posters
// that have it (possibly repeated).
type countryTop struct {
	max     int64
	posters []int32
}

// Compute computes the nine tables of insights.md from in.
func Compute(in Input) Tables {
	geoByInd := newIndIndex(len(in.Geos), func(i int) int64 { return in.Geos[i].Ind })
	userByInd := newIndIndex(len(in.Users), func(i int) int64 { return in.Users[i].Ind })

	countries, categories, posters := newInterner(), newInterner(), newInterner()

	var (
		catByCountry = make(map[uint64]int64) // pairKey(country, category)
		catByYear    = make(map[uint64]int64) // pairKey(post_year, category)
		topOfCountry = make(map[int32]*countryTop)
		catByAge     = make(map[uint64]int64) // pairKey(age group, category)
		byAge        [numAgeGroups][]int64
		byYear       [numJoinYears][]int64
		byAgeYear    [numAgeGroups][numJoinYears][]int64
	)

	for i := range in.Pins {
		p := &in.Pins[i]
		cat := int32(-1)
		if p.Category.Valid {
			cat = categories.id(p.Category.V)
		}

		if gi, ok := geoByInd.lookup(p.Ind); ok {
			g := &in.Geos[gi]
			if g.Country.Valid {
				country := countries.id(g.Country.V)
				if cat >= 0 {
					catByCountry[pairKey(country, cat)]++
				}
				if p.PosterName.Valid && p.FollowerCount.Valid {
					// The poster is interned only when it may be kept.
					fc := p.FollowerCount.V
					switch top := topOfCountry[country]; {
					case top == nil:
						topOfCountry[country] = &countryTop{max: fc, posters: []int32{posters.id(p.PosterName.V)}}
					case fc > top.max:
						top.max, top.posters = fc, append(top.posters[:0], posters.id(p.PosterName.V))
					case fc == top.max:
						top.posters = append(top.posters, posters.id(p.PosterName.V))
					}
				}
			}
			if cat >= 0 && g.Timestamp.Valid {
				if y := yearOf(g.Timestamp.Micros); y >= postYearFirst && y <= postYearLast {
					catByYear[pairKey(y, cat)]++
				}
			}
		}

		if ui, ok := userByInd.lookup(p.Ind); ok {
			u := &in.Users[ui]
			age := ageGroupID(u.Age)
			if age >= 0 && cat >= 0 {
				catByAge[pairKey(int32(age), cat)]++
			}
			if !p.FollowerCount.Valid {
				continue
			}
			fc := p.FollowerCount.V
			if age >= 0 {
				byAge[age] = append(byAge[age], fc)
			}
			if u.DateJoined.Valid {
				if y := yearOf(u.DateJoined.Micros); y >= joinYearFirst && y <= joinYearLast {
					yi := y - joinYearFirst
					byYear[yi] = append(byYear[yi], fc)
					if age >= 0 {
						byAgeYear[age][yi] = append(byAgeYear[age][yi], fc)
					}
				}
			}
		}
	}

	var t Tables

	// 1. popular_category_by_country
	for _, tc := range topByGroup(catByCountry) {
		t.PopularCategoryByCountry = append(t.PopularCategoryByCountry, CategoryByCountry{
			Country: countries.names[tc.group], Category: categories.names[tc.category], CategoryCount: tc.count,
		})
	}
	slices.SortFunc(t.PopularCategoryByCountry, func(a, b CategoryByCountry) int {
		return cmp.Or(cmp.Compare(a.Country, b.Country), cmp.Compare(a.Category, b.Category))
	})

	// 2. popular_category_by_year
	for _, tc := range topByGroup(catByYear) {
		t.PopularCategoryByYear = append(t.PopularCategoryByYear, CategoryByYear{
			PostYear: tc.group, Category: categories.names[tc.category], CategoryCount: tc.count,
		})
	}
	slices.SortFunc(t.PopularCategoryByYear, func(a, b CategoryByYear) int {
		return cmp.Or(cmp.Compare(a.PostYear, b.PostYear), cmp.Compare(a.Category, b.Category))
	})

	// 3. most_followed_user_by_country: the follower count is the country's
	// maximum, so distinct (poster_name, follower_count) pairs are distinct posters.
	for country, top := range topOfCountry {
		slices.Sort(top.posters)
		for _, poster := range slices.Compact(top.posters) {
			t.MostFollowedUserByCountry = append(t.MostFollowedUserByCountry, FollowedUser{
				Country: countries.names[country], PosterName: posters.names[poster], FollowerCount: top.max,
			})
		}
	}
	slices.SortFunc(t.MostFollowedUserByCountry, func(a, b FollowedUser) int {
		return cmp.Or(cmp.Compare(a.Country, b.Country), cmp.Compare(a.PosterName, b.PosterName))
	})

	// 4. country_with_most_followed_user: from table 3, which has one follower
	// count per country, so distinct (country, follower_count) rows are distinct countries.
	var best int64
	for i, r := range t.MostFollowedUserByCountry {
		if i == 0 || r.FollowerCount > best {
			best = r.FollowerCount
		}
	}
	for _, r := range t.MostFollowedUserByCountry {
		if r.FollowerCount != best {
			continue
		}
		if n := len(t.CountryWithMostFollowedUser); n > 0 && t.CountryWithMostFollowedUser[n-1].Country == r.Country {
			continue // table 3 is sorted by country: duplicates are adjacent
		}
		t.CountryWithMostFollowedUser = append(t.CountryWithMostFollowedUser, CountryFollowers{
			Country: r.Country, FollowerCount: r.FollowerCount,
		})
	}

	// 5. popular_category_by_age_group
	for _, tc := range topByGroup(catByAge) {
		t.PopularCategoryByAgeGroup = append(t.PopularCategoryByAgeGroup, CategoryByAgeGroup{
			AgeGroup: ageGroups[tc.group], Category: categories.names[tc.category], CategoryCount: tc.count,
		})
	}
	slices.SortFunc(t.PopularCategoryByAgeGroup, func(a, b CategoryByAgeGroup) int {
		return cmp.Or(cmp.Compare(a.AgeGroup, b.AgeGroup), cmp.Compare(a.Category, b.Category))
	})

	// 6, 8, 9. medians; ageGroups and years are iterated in their output order.
	for age, vs := range byAge {
		if m, ok := lowerMedian(vs); ok {
			t.MedianFollowersByAgeGroup = append(t.MedianFollowersByAgeGroup, MedianByAgeGroup{
				AgeGroup: ageGroups[age], MedianFollowerCount: m,
			})
		}
	}
	for yi, vs := range byYear {
		if m, ok := lowerMedian(vs); ok {
			t.MedianFollowersByJoinYear = append(t.MedianFollowersByJoinYear, MedianByYear{
				PostYear: int32(joinYearFirst + yi), MedianFollowerCount: m,
			})
		}
	}
	for age := range byAgeYear {
		for yi, vs := range byAgeYear[age] {
			if m, ok := lowerMedian(vs); ok {
				t.MedianFollowersByAgeGroupAndJoinYear = append(t.MedianFollowersByAgeGroupAndJoinYear, MedianByAgeGroupAndYear{
					AgeGroup: ageGroups[age], PostYear: int32(joinYearFirst + yi), MedianFollowerCount: m,
				})
			}
		}
	}

	// 7. users_joined_by_year: distinct (user_name, date_joined) pairs.
	type nameTime struct {
		name   string
		micros int64
	}
	var joined [numJoinYears]map[nameTime]struct{}
	for i := range in.Users {
		u := &in.Users[i]
		if !u.UserName.Valid || !u.DateJoined.Valid {
			continue
		}
		y := yearOf(u.DateJoined.Micros)
		if y < joinYearFirst || y > joinYearLast {
			continue
		}
		yi := y - joinYearFirst
		if joined[yi] == nil {
			joined[yi] = make(map[nameTime]struct{})
		}
		joined[yi][nameTime{u.UserName.V, u.DateJoined.Micros}] = struct{}{}
	}
	for yi, set := range joined {
		if len(set) > 0 {
			t.UsersJoinedByYear = append(t.UsersJoinedByYear, UsersJoined{
				PostYear: int32(joinYearFirst + yi), NumberUsersJoined: int64(len(set)),
			})
		}
	}

	return t
}
