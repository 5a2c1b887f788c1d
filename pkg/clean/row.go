// Package clean turns raw source records (data.md §2) into typed clean rows,
// following the rules of cleaning.md. It does no I/O and no logging.
package clean

// Table names a source table.
type Table string

// The three source tables.
const (
	TablePin  Table = "pin"
	TableGeo  Table = "geo"
	TableUser Table = "user"
)

// Tables lists the tables in their canonical order.
var Tables = [...]Table{TablePin, TableGeo, TableUser}

// Str is a nullable string.
type Str struct {
	V     string
	Valid bool
}

// Int64 is a nullable int64.
type Int64 struct {
	V     int64
	Valid bool
}

// Int32 is a nullable int32.
type Int32 struct {
	V     int32
	Valid bool
}

// Time is a nullable instant in microseconds since the Unix epoch, UTC.
type Time struct {
	Micros int64
	Valid  bool
}

// Coords is a nullable [latitude, longitude] pair.
type Coords struct {
	Lat, Lon float64
	Valid    bool
}

// Pin is a clean row of the pin table, columns in cleaning.md order.
type Pin struct {
	Ind            int64
	UniqueID       string
	Title          Str
	Description    Str
	FollowerCount  Int64
	PosterName     Str
	TagList        Str
	IsImageOrVideo Str
	ImageSrc       Str
	SaveLocation   Str
	Category       Str
}

// Geo is a clean row of the geo table.
type Geo struct {
	Ind         int64
	Country     Str
	Coordinates Coords
	Timestamp   Time
}

// User is a clean row of the user table.
type User struct {
	Ind        int64
	UserName   Str
	Age        Int32
	DateJoined Time
}
