package insights_test

import (
	"fmt"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
)

func ExampleCompute() {
	s := func(v string) clean.Str { return clean.Str{V: v, Valid: true} }
	joined := clean.Time{Micros: time.Date(2016, 3, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), Valid: true}
	in := insights.Input{
		Pins: []clean.Pin{
			{Ind: 1, UniqueID: "a", Category: s("art"), PosterName: s("Ann"), FollowerCount: clean.Int64{V: 900, Valid: true}},
			{Ind: 2, UniqueID: "b", Category: s("diy"), PosterName: s("Bob"), FollowerCount: clean.Int64{V: 120, Valid: true}},
			{Ind: 3, UniqueID: "c", Category: s("art"), PosterName: s("Cy"), FollowerCount: clean.Int64{V: 40, Valid: true}},
		},
		Geos: []clean.Geo{
			{Ind: 1, Country: s("Chile")},
			{Ind: 2, Country: s("Chile")},
			{Ind: 3, Country: s("Togo")},
		},
		Users: []clean.User{
			{Ind: 1, UserName: s("Ann Lee"), Age: clean.Int32{V: 22, Valid: true}, DateJoined: joined},
			{Ind: 2, UserName: s("Bob Ray"), Age: clean.Int32{V: 40, Valid: true}, DateJoined: joined},
			{Ind: 3, UserName: s("Cy Ode"), Age: clean.Int32{V: 19, Valid: true}, DateJoined: joined},
		},
	}
	t := insights.Compute(in)
	fmt.Println(t.PopularCategoryByCountry)
	fmt.Println(t.MostFollowedUserByCountry)
	fmt.Println(t.CountryWithMostFollowedUser)
	fmt.Println(t.MedianFollowersByAgeGroup)
	fmt.Println(t.UsersJoinedByYear)
	fmt.Println(t.MedianFollowersByJoinYear)
	// Output:
	// [{Chile art 1} {Chile diy 1} {Togo art 1}]
	// [{Chile Ann 900} {Togo Cy 40}]
	// [{Chile 900}]
	// [{18-24 40} {36-50 120}]
	// [{2016 3}]
	// [{2016 120}]
}
