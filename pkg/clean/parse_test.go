package clean

import (
	"testing"
	"time"
)

func TestParseFollowers(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"892", 892, true},
		{"0", 0, true},
		{"124k", 124000, true},
		{"124K", 124000, true},
		{"1.2M", 1200000, true},
		{"1.2m", 1200000, true},
		{"2.5k", 2500, true},
		{"1b", 1000000000, true},
		{"1.5B", 1500000000, true},
		{"10,321", 10321, true},
		{"1,234,567", 1234567, true},
		{"1,2,3", 123, true},
		{"1,k", 1000, true},
		{"1.2,5k", 1250, true},
		{"3.14159k", 3142, true},
		{"0.5", 1, true},
		{"0.49", 0, true},
		{"1.5", 2, true},
		{"2.4999", 2, true},
		{"1.0005k", 1001, true},
		{"1.0004999k", 1000, true},
		{"0001", 1, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"9223372036854775806.5", 9223372036854775807, true},
		{"9223372036854775807.5", 0, false},
		{"9223372036854775808", 0, false},
		{"9223372036854776k", 0, false},
		{"9223372036854775k", 9223372036854775000, true},
		{"99999999999999999999b", 0, false},
		{"abc", 0, false},
		{"-5", 0, false},
		{"+5", 0, false},
		{"1e3", 0, false},
		{"1E3", 0, false},
		{"1.2 M", 0, false},
		{"12.5.3", 0, false},
		{"k", 0, false},
		{"M", 0, false},
		{",", 0, false},
		{",k", 0, false},
		{"", 0, false},
		{".5", 0, false},
		{"5.", 0, false},
		{"5.k", 0, false},
		{"1kk", 0, false},
		{"1km", 0, false},
		{"1 000", 0, false},
		{"١٢٣", 0, false}, // Arabic-Indic digits are not digits here
		{"User Info Error", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseFollowers([]byte(tc.in))
			if ok != tc.ok || got != tc.want {
				t.Errorf("parseFollowers(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		max  int64
		want int64
		ok   bool
	}{
		{"0", maxKey, 0, true},
		{"-0", maxKey, 0, true},
		{"+0", maxKey, 0, true},
		{"+5", maxKey, 5, true},
		{"007", maxKey, 7, true},
		{"2147483647", maxKey, 2147483647, true},
		{"2147483648", maxKey, 0, false},
		{"99999999999999999999999", maxKey, 0, false},
		{"-1", maxKey, 0, false},
		{"7528.0", maxKey, 0, false},
		{"1e3", maxKey, 0, false},
		{"20.0", 130, 0, false},
		{"", maxKey, 0, false},
		{"+", maxKey, 0, false},
		{"-", maxKey, 0, false},
		{"--1", maxKey, 0, false},
		{"1 2", maxKey, 0, false},
		{"0x10", maxKey, 0, false},
		{"130", 130, 130, true},
		{"131", 130, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseInt([]byte(tc.in), tc.max)
			if ok != tc.ok || got != tc.want {
				t.Errorf("parseInt(%q, %d) = %d, %v; want %d, %v", tc.in, tc.max, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseTimestamp(t *testing.T) {
	at := func(y int, mo time.Month, d, h, mi, s, ns int) int64 {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC).UnixMicro()
	}
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"2020-08-28 03:52:47", at(2020, 8, 28, 3, 52, 47, 0), true},
		{"2020-08-28T03:52:47", at(2020, 8, 28, 3, 52, 47, 0), true},
		{"2020-08-28T03:52:47Z", at(2020, 8, 28, 3, 52, 47, 0), true},
		{"2020-08-28 03:52:47Z", at(2020, 8, 28, 3, 52, 47, 0), true},
		{"2020-08-28 03:52:47.5", at(2020, 8, 28, 3, 52, 47, 500000000), true},
		{"2020-08-28 03:52:47.123456", at(2020, 8, 28, 3, 52, 47, 123456000), true},
		{"2020-08-28 03:52:47.123456789", at(2020, 8, 28, 3, 52, 47, 123456000), true},
		{"2020-08-28 03:52:47.999999999Z", at(2020, 8, 28, 3, 52, 47, 999999000), true},
		{"2020-08-28T03:52:47+02:00", at(2020, 8, 28, 1, 52, 47, 0), true},
		{"2020-08-28T03:52:47-05:30", at(2020, 8, 28, 9, 22, 47, 0), true},
		{"2020-08-28T03:52:47.25+23:59", at(2020, 8, 27, 3, 53, 47, 250000000), true},
		{"2020-01-01T00:30:00+01:00", at(2019, 12, 31, 23, 30, 0, 0), true},
		{"2020-08-28", at(2020, 8, 28, 0, 0, 0, 0), true},
		{"1970-01-01", 0, true},
		{"1969-12-31 23:59:59", -1e6, true},
		{"2020-02-29", at(2020, 2, 29, 0, 0, 0, 0), true},
		{"2000-02-29", at(2000, 2, 29, 0, 0, 0, 0), true},
		{"0001-01-01 00:00:00", at(1, 1, 1, 0, 0, 0, 0), true},
		{"9999-12-31 23:59:59.999999", at(9999, 12, 31, 23, 59, 59, 999999000), true},
		{"2015-10-24 11:23:51", at(2015, 10, 24, 11, 23, 51, 0), true},
		{"2015-12-31 23:59:59", at(2015, 12, 31, 23, 59, 59, 0), true},

		{"2021-02-30", 0, false},
		{"2019-02-29", 0, false},
		{"1900-02-29", 0, false},
		{"2021-04-31", 0, false},
		{"2021-13-01", 0, false},
		{"2021-00-01", 0, false},
		{"2021-01-00", 0, false},
		{"0000-01-01", 0, false},
		{"2020-08-28 24:00:00", 0, false},
		{"2020-08-28 23:60:00", 0, false},
		{"2020-08-28 23:00:60", 0, false},
		{"2020-08-28 03:52", 0, false},
		{"2020-08-28T03:52Z", 0, false},
		{"2020-08-28 03:52:47+0200", 0, false},
		{"2020-08-28 03:52:47+02", 0, false},
		{"2020-08-28 03:52:47+24:00", 0, false},
		{"2020-08-28 03:52:47+02:60", 0, false},
		{"2020-08-28 03:52:47 +02:00", 0, false},
		{"2020-08-28t03:52:47", 0, false},
		{"2020-08-28T03:52:47z", 0, false},
		{"2020-08-28 03:52:47.", 0, false},
		{"2020-08-28 03:52:47.1234567890", 0, false},
		{"2020-08-28 03:52:47ZZ", 0, false},
		{"2020-08-28Z", 0, false},
		{"2020-08-28 ", 0, false},
		{"2020-8-28", 0, false},
		{"20-08-28 03:52:47", 0, false},
		{"2020/08/28 03:52:47", 0, false},
		{"2020-08-28  03:52:47", 0, false},
		{"+020-08-28", 0, false},
		{"0001-01-01T00:00:00+00:01", 0, false}, // before year 1 in UTC
		{"9999-12-31T23:59:59-00:01", 0, false}, // after year 9999 in UTC
		{"1598586767", 0, false},
		{"", 0, false},
		{"abc", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseTimestamp([]byte(tc.in))
			if ok != tc.ok || got != tc.want {
				t.Errorf("parseTimestamp(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestTimestampBounds(t *testing.T) {
	if got := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(); got != minMicros {
		t.Errorf("minMicros = %d, want %d", int64(minMicros), got)
	}
	if got := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro(); got != maxMicros {
		t.Errorf("maxMicros = %d, want %d", int64(maxMicros), got)
	}
	// Every day from year 1 to 9999 agrees with the time package.
	d := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	for d.Year() < 10000 {
		want := d.Unix() / 86400
		if got := daysFromCivil(int64(d.Year()), int64(d.Month()), int64(d.Day())); got != want {
			t.Fatalf("daysFromCivil(%s) = %d, want %d", d.Format(time.DateOnly), got, want)
		}
		d = d.AddDate(0, 0, 1)
	}
}

func TestTrimSpace(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  a b  ", "a b"},
		{"\t\n\v\f\r a \r\n", "a"},
		{"\u00a0Abigail\u00a0", "Abigail"},
		{"\u3000東京\u3000", "東京"},
		{"\u2003\u2028x\u2029\u205f", "x"},
		{"\u0085x\u0085", "x"},
		{"\u200bx", "\u200bx"}, // zero width space is not white space
		{"😀", "😀"},
		{"\u00a0\u3000", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := string(trimSpace([]byte(tc.in))); got != tc.want {
				t.Errorf("trimSpace(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPlain8(t *testing.T) {
	// plain8 must agree with the byte-wise definition for every byte in
	// every position.
	for c := range 256 {
		for pos := range 8 {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			want := c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
			x := uint64(0)
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(b[i])
			}
			if got := plain8(x); got != want {
				t.Fatalf("plain8 with byte %#x at %d = %v, want %v", c, pos, got, want)
			}
		}
	}
}
