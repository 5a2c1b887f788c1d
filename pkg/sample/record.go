package sample

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// DateTimeLayout is how a DATETIME is written on the wire (data.md §2).
const DateTimeLayout = "2006-01-02 15:04:05"

// field is one key of a wire record with its value as raw JSON.
type field struct {
	key string
	val []byte
}

func (r Row) pinFields() []field {
	p := r.Pin
	return []field{
		{"index", jsonInt(p.Index)},
		{"unique_id", jsonString(p.UniqueID)},
		{"title", jsonString(p.Title)},
		{"description", jsonString(p.Description)},
		{"poster_name", jsonString(p.PosterName)},
		{"follower_count", jsonString(p.FollowerCount)},
		{"tag_list", jsonString(p.TagList)},
		{"is_image_or_video", jsonString(p.IsImageOrVideo)},
		{"image_src", jsonString(p.ImageSrc)},
		{"downloaded", jsonInt(p.Downloaded)},
		{"save_location", jsonString(p.SaveLocation)},
		{"category", jsonString(p.Category)},
	}
}

func (r Row) geoFields() []field {
	g := r.Geo
	return []field{
		{"ind", jsonInt(g.Ind)},
		{"timestamp", jsonString(formatDateTime(g.Timestamp))},
		{"latitude", jsonFloat(g.Latitude)},
		{"longitude", jsonFloat(g.Longitude)},
		{"country", jsonString(g.Country)},
	}
}

func (r Row) userFields() []field {
	u := r.User
	return []field{
		{"ind", jsonInt(u.Ind)},
		{"first_name", jsonNullString(u.FirstName)},
		{"last_name", jsonNullString(u.LastName)},
		{"age", jsonInt(u.Age)},
		{"date_joined", jsonString(formatDateTime(u.DateJoined))},
	}
}

// PinJSON returns the pinterest_data record of r as the MySQL emitter sends
// it (data.md §2): one JSON object, the column names as keys, in column order.
func (r Row) PinJSON() []byte { return encodeObject(r.pinFields()) }

// GeoJSON returns the geolocation_data record of r; timestamp as
// "YYYY-MM-DD HH:MM:SS", coordinates as JSON numbers.
func (r Row) GeoJSON() []byte { return encodeObject(r.geoFields()) }

// UserJSON returns the user_data record of r; a NULL name is JSON null.
func (r Row) UserJSON() []byte { return encodeObject(r.userFields()) }

func encodeObject(fs []field) []byte {
	n := 2
	for _, f := range fs {
		n += len(f.key) + len(f.val) + 4
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for k, f := range fs {
		if k > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, f.key)
		b = append(b, ':')
		b = append(b, f.val...)
	}
	return append(b, '}')
}

func jsonInt(n int) []byte { return strconv.AppendInt(nil, int64(n), 10) }

// jsonFloat writes the shortest decimal that reads back as x, never with an
// exponent.
func jsonFloat(x float64) []byte { return strconv.AppendFloat(nil, x, 'f', -1, 64) }

func jsonString(s string) []byte { return AppendJSONString(nil, s) }

func jsonNullString(s string) []byte {
	if s == "" {
		return []byte("null")
	}
	return jsonString(s)
}

// AppendJSONString appends s as a JSON string, as every wire record of
// pinpipe is written. Non-ASCII text is kept as UTF-8; quotes, backslashes and
// control characters are escaped; invalid UTF-8 is replaced by U+FFFD.
func AppendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// formatDateTime writes t as a DATETIME in UTC.
func formatDateTime(t time.Time) string { return t.UTC().Format(DateTimeLayout) }
