package clean

import (
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// This file holds the value parsers of cleaning.md. They take the trimmed
// text of a scalar and never allocate.

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// trimSpace trims leading and trailing Unicode white space (unicode.IsSpace:
// NBSP U+00A0 and the ideographic space U+3000 included). s is valid UTF-8.
func trimSpace(s []byte) []byte {
	for len(s) > 0 {
		if c := s[0]; c < utf8.RuneSelf {
			if !isASCIISpace(c) {
				break
			}
			s = s[1:]
			continue
		}
		r, n := utf8.DecodeRune(s)
		if !unicode.IsSpace(r) {
			break
		}
		s = s[n:]
	}
	for len(s) > 0 {
		if c := s[len(s)-1]; c < utf8.RuneSelf {
			if !isASCIISpace(c) {
				break
			}
			s = s[:len(s)-1]
			continue
		}
		r, n := utf8.DecodeLastRune(s)
		if !unicode.IsSpace(r) {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}

// isBlank reports whether line is empty or only Unicode white space.
func isBlank(line []byte) bool {
	for i := 0; i < len(line); {
		c := line[i]
		if c < utf8.RuneSelf {
			if !isASCIISpace(c) {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(line[i:])
		if !unicode.IsSpace(r) {
			return false
		}
		i += n
	}
	return true
}

// parseInt parses an integer of cleaning.md (an optional sign and digits;
// JSON numbers with a fraction or an exponent are not integers) and reports
// whether it lies in [0, max]. "-0" is 0.
func parseInt(s []byte, max int64) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	var v int64
	for _, c := range s {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int64(c-'0')
		if v > max {
			return 0, false
		}
	}
	if neg && v != 0 {
		return 0, false
	}
	return v, true
}

// parseFollowers parses a follower count: every comma removed, then
// digits, an optional fraction, and an optional suffix k, m or b (any case),
// rounded half away from zero in exact decimal arithmetic. No sign, no
// exponent, no leading or trailing dot; a result beyond int64 is invalid.
func parseFollowers(s []byte) (int64, bool) {
	// Strip commas virtually: walk s skipping them.
	end := len(s)
	for end > 0 && s[end-1] == ',' {
		end--
	}
	if end == 0 {
		return 0, false
	}
	scale := 0
	switch s[end-1] {
	case 'k', 'K':
		scale = 3
	case 'm', 'M':
		scale = 6
	case 'b', 'B':
		scale = 9
	}
	if scale > 0 {
		end--
	}
	s = s[:end]
	const max = math.MaxInt64
	var v int64
	add := func(d byte) bool {
		if v > (max-int64(d))/10 {
			return false
		}
		v = v*10 + int64(d)
		return true
	}
	i, nInt := 0, 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == ',' {
			continue
		}
		if !isDigit(c) {
			break
		}
		nInt++
		if !add(c - '0') {
			return 0, false
		}
	}
	if nInt == 0 {
		return 0, false
	}
	roundUp := false
	if i < len(s) {
		if s[i] != '.' {
			return 0, false
		}
		i++
		nFrac := 0
		for ; i < len(s); i++ {
			c := s[i]
			if c == ',' {
				continue
			}
			if !isDigit(c) {
				return 0, false
			}
			switch {
			case nFrac < scale:
				if !add(c - '0') {
					return 0, false
				}
			case nFrac == scale:
				roundUp = c >= '5'
			}
			nFrac++
		}
		if nFrac == 0 {
			return 0, false
		}
		scale -= min(nFrac, scale)
	}
	for ; scale > 0; scale-- {
		if !add(0) {
			return 0, false
		}
	}
	if roundUp {
		if v == max {
			return 0, false
		}
		v++
	}
	return v, true
}

// parseCoord parses a latitude or longitude (a JSON number or a numeric
// string) and reports whether it is a finite number in [-limit, limit].
func parseCoord(s []byte, limit float64) (float64, bool) {
	digits := false
	for _, c := range s {
		switch {
		case isDigit(c):
			digits = true
		case c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E':
		default: // rejects NaN, Inf, hex floats and underscores
			return 0, false
		}
	}
	if !digits {
		return 0, false
	}
	// The string does not outlive the call: on error it is dropped at once
	// (strconv copies the text it keeps in a *NumError).
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(s), len(s)), 64)
	if err != nil || f < -limit || f > limit {
		return 0, false
	}
	return f, true
}

// The instants a timestamp may take: 0001-01-01T00:00:00Z up to
// 9999-12-31T23:59:59.999999Z (after conversion to UTC).
const (
	minMicros = -62135596800 * 1e6
	maxMicros = 253402300800*1e6 - 1
)

// parseTimestamp parses the timestamp forms of cleaning.md:
//
//	YYYY-MM-DD
//	YYYY-MM-DD[ T]HH:MM:SS[.F{1,9}][Z|±HH:MM]
//
// and returns microseconds since the Unix epoch, UTC. The fraction is
// truncated to microseconds.
func parseTimestamp(s []byte) (int64, bool) {
	if len(s) != 10 && len(s) < 19 {
		return 0, false
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	if !ok1 || !ok2 || !ok3 || s[4] != '-' || s[7] != '-' ||
		year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return 0, false
	}
	days := daysFromCivil(year, month, day)
	if len(s) == 10 {
		return days * 86400 * 1e6, true
	}
	hour, ok1 := num(s[11:13])
	minute, ok2 := num(s[14:16])
	sec, ok3 := num(s[17:19])
	if !ok1 || !ok2 || !ok3 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' ||
		hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	micros := ((days*24+hour)*60+minute)*60 + sec
	micros *= 1e6
	rest := s[19:]
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
		digits := rest[1:n]
		if len(digits) < 1 || len(digits) > 9 {
			return 0, false
		}
		var frac int64
		for k := range 6 {
			frac *= 10
			if k < len(digits) {
				frac += int64(digits[k] - '0')
			}
		}
		micros += frac
		rest = rest[n:]
	}
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		off := (oh*60 + om) * 60 * 1e6
		if rest[0] == '+' {
			micros -= off
		} else {
			micros += off
		}
	default:
		return 0, false
	}
	if micros < minMicros || micros > maxMicros {
		return 0, false
	}
	return micros, true
}

// num parses a fixed-width field of ASCII digits.
func num(b []byte) (int64, bool) {
	var v int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

func daysIn(year, month int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date with year >= 1 (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
