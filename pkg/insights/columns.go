package insights

import "github.com/pinpipe/pinpipe/pkg/clean"

// The columns of the clean tables that Compute reads; it reads no other
// field of the rows. A reader that only feeds Compute reads these columns
// (parquetio.ReadPinColumns, ...) and keeps these fields (TrimPin, ...).
var (
	PinColumns  = []string{"ind", "poster_name", "follower_count", "category"}
	GeoColumns  = []string{"ind", "country", "timestamp"}
	UserColumns = []string{"ind", "user_name", "age", "date_joined"}
)

// TrimPin keeps the fields of p that Compute reads (PinColumns).
func TrimPin(p clean.Pin) clean.Pin {
	return clean.Pin{Ind: p.Ind, PosterName: p.PosterName, FollowerCount: p.FollowerCount, Category: p.Category}
}

// TrimGeo keeps the fields of g that Compute reads (GeoColumns).
func TrimGeo(g clean.Geo) clean.Geo {
	return clean.Geo{Ind: g.Ind, Country: g.Country, Timestamp: g.Timestamp}
}

// TrimUser keeps the fields of u that Compute reads (UserColumns).
func TrimUser(u clean.User) clean.User {
	return clean.User{Ind: u.Ind, UserName: u.UserName, Age: u.Age, DateJoined: u.DateJoined}
}
