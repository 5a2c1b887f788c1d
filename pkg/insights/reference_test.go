package insights

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// reference is a direct, slow transcription of insights.md, used to check
// Compute on random inputs.
func reference(in Input) Tables {
	type pg struct {
		p clean.Pin
		g clean.Geo
	}
	type pu struct {
		p clean.Pin
		u clean.User
	}
	var pgs []pg
	var pus []pu
	for _, p := range in.Pins {
		for _, g := range in.Geos {
			if g.Ind == p.Ind {
				pgs = append(pgs, pg{p, g})
			}
		}
		for _, u := range in.Users {
			if u.Ind == p.Ind {
				pus = append(pus, pu{p, u})
			}
		}
	}
	type key struct {
		a string
		y int32
		b string
	}
	top := func(counts map[key]int64) []key {
		best := map[key]int64{}
		for k, n := range counts {
			g := key{a: k.a, y: k.y}
			best[g] = max(best[g], n)
		}
		var out []key
		for k, n := range counts {
			if n == best[key{a: k.a, y: k.y}] {
				out = append(out, k)
			}
		}
		slices.SortFunc(out, func(x, y key) int {
			return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.y, y.y), cmp.Compare(x.b, y.b))
		})
		return out
	}
	median := func(vs []int64) int64 {
		s := slices.Clone(vs)
		slices.Sort(s)
		return s[(len(s)+1)/2-1]
	}
	var t Tables

	c1 := map[key]int64{}
	c2 := map[key]int64{}
	for _, r := range pgs {
		if r.g.Country.Valid && r.p.Category.Valid {
			c1[key{a: r.g.Country.V, b: r.p.Category.V}]++
		}
		if r.g.Timestamp.Valid && r.p.Category.Valid {
			if y := yearOf(r.g.Timestamp.Micros); y >= 2018 && y <= 2022 {
				c2[key{y: y, b: r.p.Category.V}]++
			}
		}
	}
	for _, k := range top(c1) {
		t.PopularCategoryByCountry = append(t.PopularCategoryByCountry, CategoryByCountry{k.a, k.b, c1[k]})
	}
	for _, k := range top(c2) {
		t.PopularCategoryByYear = append(t.PopularCategoryByYear, CategoryByYear{k.y, k.b, c2[k]})
	}

	maxFC := map[string]int64{}
	for _, r := range pgs {
		if r.g.Country.Valid && r.p.PosterName.Valid && r.p.FollowerCount.Valid {
			if m, ok := maxFC[r.g.Country.V]; !ok || r.p.FollowerCount.V > m {
				maxFC[r.g.Country.V] = r.p.FollowerCount.V
			}
		}
	}
	seen := map[FollowedUser]bool{}
	for _, r := range pgs {
		if r.g.Country.Valid && r.p.PosterName.Valid && r.p.FollowerCount.Valid && r.p.FollowerCount.V == maxFC[r.g.Country.V] {
			f := FollowedUser{r.g.Country.V, r.p.PosterName.V, r.p.FollowerCount.V}
			if !seen[f] {
				seen[f] = true
				t.MostFollowedUserByCountry = append(t.MostFollowedUserByCountry, f)
			}
		}
	}
	slices.SortFunc(t.MostFollowedUserByCountry, func(a, b FollowedUser) int {
		return cmp.Or(cmp.Compare(a.Country, b.Country), cmp.Compare(a.PosterName, b.PosterName))
	})
	var best int64 = -1
	for _, f := range t.MostFollowedUserByCountry {
		best = max(best, f.FollowerCount)
	}
	seen4 := map[CountryFollowers]bool{}
	for _, f := range t.MostFollowedUserByCountry {
		c := CountryFollowers{f.Country, f.FollowerCount}
		if f.FollowerCount == best && !seen4[c] {
			seen4[c] = true
			t.CountryWithMostFollowedUser = append(t.CountryWithMostFollowedUser, c)
		}
	}

	c5 := map[key]int64{}
	v6 := map[string][]int64{}
	v8 := map[int32][]int64{}
	v9 := map[key][]int64{}
	for _, r := range pus {
		ag, ok := AgeGroup(r.u.Age)
		if ok && r.p.Category.Valid {
			c5[key{a: ag, b: r.p.Category.V}]++
		}
		if !r.p.FollowerCount.Valid {
			continue
		}
		if ok {
			v6[ag] = append(v6[ag], r.p.FollowerCount.V)
		}
		if r.u.DateJoined.Valid {
			if y := yearOf(r.u.DateJoined.Micros); y >= 2015 && y <= 2020 {
				v8[y] = append(v8[y], r.p.FollowerCount.V)
				if ok {
					v9[key{a: ag, y: y}] = append(v9[key{a: ag, y: y}], r.p.FollowerCount.V)
				}
			}
		}
	}
	for _, k := range top(c5) {
		t.PopularCategoryByAgeGroup = append(t.PopularCategoryByAgeGroup, CategoryByAgeGroup{k.a, k.b, c5[k]})
	}
	for _, ag := range slices.Sorted(maps.Keys(v6)) {
		t.MedianFollowersByAgeGroup = append(t.MedianFollowersByAgeGroup, MedianByAgeGroup{ag, median(v6[ag])})
	}
	for _, y := range slices.Sorted(maps.Keys(v8)) {
		t.MedianFollowersByJoinYear = append(t.MedianFollowersByJoinYear, MedianByYear{y, median(v8[y])})
	}
	k9 := mapsKeys(v9)
	slices.SortFunc(k9, func(x, y key) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.y, y.y)) })
	for _, k := range k9 {
		t.MedianFollowersByAgeGroupAndJoinYear = append(t.MedianFollowersByAgeGroupAndJoinYear, MedianByAgeGroupAndYear{k.a, k.y, median(v9[k])})
	}

	type nameTime struct {
		n string
		m int64
	}
	users := map[nameTime]bool{}
	perYear := map[int32]int64{}
	for _, u := range in.Users {
		if !u.UserName.Valid || !u.DateJoined.Valid || users[nameTime{u.UserName.V, u.DateJoined.Micros}] {
			continue
		}
		users[nameTime{u.UserName.V, u.DateJoined.Micros}] = true
		if y := yearOf(u.DateJoined.Micros); y >= 2015 && y <= 2020 {
			perYear[y]++
		}
	}
	for _, y := range slices.Sorted(maps.Keys(perYear)) {
		t.UsersJoinedByYear = append(t.UsersJoinedByYear, UsersJoined{y, perYear[y]})
	}
	return t
}

func mapsKeys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestComputeMatchesReference(t *testing.T) {
	for seed := range uint64(20) {
		n := 1 + int(seed)*15
		in := synthetic(seed, n)
		if seed%2 == 1 { // sparse inds: the map path of indIndex
			for i := range in.Pins {
				in.Pins[i].Ind = in.Pins[i].Ind*7919 + 1<<30
			}
			for i := range in.Geos {
				in.Geos[i].Ind = in.Geos[i].Ind*7919 + 1<<30
			}
			for i := range in.Users {
				in.Users[i].Ind = in.Users[i].Ind*7919 + 1<<30
			}
		}
		got, want := Compute(in), reference(in)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d, n %d:\n got %+v\nwant %+v", seed, n, got, want)
		}
	}
}
