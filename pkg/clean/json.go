package clean

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
)

// This file holds a small strict JSON scanner (RFC 8259) for one flat object
// per line. It validates the whole line, remembers the raw bytes of the
// values of the keys a table cares about, and skips (after validating)
// everything else, nested objects and arrays included. It never allocates.

// Value kinds.
const (
	kindAbsent    uint8 = iota // key not in the object
	kindNull                   // null
	kindBool                   // true or false
	kindNumber                 // a JSON number; b is its text
	kindString                 // a JSON string; b is the raw text between the quotes
	kindComposite              // an object or an array
)

// rawVal is the undecoded value of one key of the record: line[a:b] is the
// text of a number, or the raw text between the quotes of a string. It holds
// offsets rather than a slice so that filling it needs no GC write barrier.
type rawVal struct {
	a, b int32
	kind uint8
	esc  bool // kindString: the text holds at least one escape sequence
}

func (v *rawVal) bytes(line []byte) []byte { return line[v.a:v.b] }

// scanResult says how a line parsed.
type scanResult uint8

const (
	scanOK scanResult = iota
	scanInvalid
	scanNotObject
)

// maxDepth bounds the nesting of skipped values (as encoding/json does).
const maxDepth = 10000

// isJSONSpace reports whether c is JSON insignificant white space.
func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isJSONSpace(b[i]) {
		i++
	}
	return i
}

// scanObject parses line as one JSON object followed only by white space.
// For each key, field(key) gives the slot in vals to fill, slotDropped for a
// key the table knows and drops, or slotUnknown for a key the table does not know, which is noted
// in unknown (counted only once the scan succeeds). Duplicate keys: the last
// occurrence wins (as in encoding/json and the original Spark reader),
// including a last occurrence that is null. keyBuf is scratch space for keys
// with escape sequences; the grown buffer is returned. On error, off is the
// byte offset of the problem.
func scanObject(line []byte, vals []rawVal, field func([]byte) int, keyBuf []byte, unknown *keyCounter) (res scanResult, off int, buf []byte) {
	unknown.begin()
	b := line
	i := skipWS(b, 0)
	if i >= len(b) {
		return scanInvalid, i, keyBuf
	}
	if b[i] != '{' {
		j, ok := skipValue(b, i, 0)
		if ok && skipWS(b, j) == len(b) {
			return scanNotObject, i, keyBuf
		}
		return scanInvalid, j, keyBuf
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return scanInvalid, i, keyBuf
			}
			j, esc, ok := scanString(b, i)
			if !ok {
				return scanInvalid, j, keyBuf
			}
			key := b[i+1 : j-1]
			if esc {
				keyBuf = decodeString(keyBuf[:0], key)
				key = keyBuf
			}
			slot := field(key)
			if slot == slotUnknown {
				unknown.note(key)
			}
			i = skipWS(b, j)
			if i >= len(b) || b[i] != ':' {
				return scanInvalid, i, keyBuf
			}
			i = skipWS(b, i+1)
			if i >= len(b) {
				return scanInvalid, i, keyBuf
			}
			var v rawVal
			switch c := b[i]; {
			case c == '"':
				j, esc, ok = scanString(b, i)
				if !ok {
					return scanInvalid, j, keyBuf
				}
				v = rawVal{a: int32(i + 1), b: int32(j - 1), kind: kindString, esc: esc}
			case c == '-' || (c >= '0' && c <= '9'):
				j, ok = scanNumber(b, i)
				if !ok {
					return scanInvalid, j, keyBuf
				}
				v = rawVal{a: int32(i), b: int32(j), kind: kindNumber}
			case c == 'n':
				j, ok = scanLiteral(b, i, "null")
				if !ok {
					return scanInvalid, j, keyBuf
				}
				v = rawVal{kind: kindNull}
			case c == 't':
				j, ok = scanLiteral(b, i, "true")
				if !ok {
					return scanInvalid, j, keyBuf
				}
				v = rawVal{a: int32(i), b: int32(j), kind: kindBool}
			case c == 'f':
				j, ok = scanLiteral(b, i, "false")
				if !ok {
					return scanInvalid, j, keyBuf
				}
				v = rawVal{a: int32(i), b: int32(j), kind: kindBool}
			case c == '{' || c == '[':
				j, ok = skipValue(b, i, 1)
				if !ok {
					return scanInvalid, j, keyBuf
				}
				v = rawVal{a: int32(i), b: int32(j), kind: kindComposite}
			default:
				return scanInvalid, i, keyBuf
			}
			if slot >= 0 {
				vals[slot] = v // last one wins
			}
			i = skipWS(b, j)
			if i >= len(b) {
				return scanInvalid, i, keyBuf
			}
			if b[i] == ',' {
				i = skipWS(b, i+1)
				continue
			}
			if b[i] == '}' {
				i++
				break
			}
			return scanInvalid, i, keyBuf
		}
	}
	if i = skipWS(b, i); i != len(b) {
		return scanInvalid, i, keyBuf
	}
	unknown.commit()
	return scanOK, 0, keyBuf
}

// skipValue validates the JSON value starting at b[i] and returns the offset
// just after it. On error it returns the offset of the problem and false.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		j, _, ok := scanString(b, i)
		return j, ok
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == '[':
		if depth >= maxDepth {
			return i, false
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			j, ok := skipValue(b, i, depth+1)
			if !ok {
				return j, false
			}
			i = skipWS(b, j)
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case ',':
				i = skipWS(b, i+1)
			case ']':
				return i + 1, true
			default:
				return i, false
			}
		}
	case c == '{':
		if depth >= maxDepth {
			return i, false
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			j, _, ok := scanString(b, i)
			if !ok {
				return j, false
			}
			i = skipWS(b, j)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			j, ok = skipValue(b, skipWS(b, i+1), depth+1)
			if !ok {
				return j, false
			}
			i = skipWS(b, j)
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case ',':
				i = skipWS(b, i+1)
			case '}':
				return i + 1, true
			default:
				return i, false
			}
		}
	}
	return i, false
}

func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// scanNumber validates the number at b[i]:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, false
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanString validates the string whose opening quote is b[i] and returns the
// offset just after the closing quote and whether it holds escape sequences.
func scanString(b []byte, i int) (end int, esc, ok bool) {
	j := i + 1
	if q := bytes.IndexByte(b[j:], '"'); q >= 0 {
		k := plainPrefix(b[j : j+q])
		if k == q {
			return j + q + 1, false, true
		}
		j += k
	}
	return scanStringFrom(b, j)
}

// plainPrefix returns the number of leading bytes of s that are ASCII, not
// control characters and not '\\'.
func plainPrefix(s []byte) int {
	n := 0
	for len(s)-n >= 16 && plainNoQuote8(binary.LittleEndian.Uint64(s[n:])) &&
		plainNoQuote8(binary.LittleEndian.Uint64(s[n+8:])) {
		n += 16
	}
	for len(s)-n >= 8 && plainNoQuote8(binary.LittleEndian.Uint64(s[n:])) {
		n += 8
	}
	for n < len(s) {
		if c := s[n]; c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
			break
		}
		n++
	}
	return n
}

// scanStringFrom scans the rest of a string from b[j], a byte inside it
// (past the opening quote); results as scanString's.
func scanStringFrom(b []byte, j int) (end int, esc, ok bool) {
	for j < len(b) {
		// Skip 8 plain ASCII bytes at a time.
		for len(b)-j >= 8 && plain8(binary.LittleEndian.Uint64(b[j:])) {
			j += 8
		}
		if j >= len(b) {
			break
		}
		c := b[j]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				j++
				continue
			}
			switch c {
			case '"':
				return j + 1, esc, true
			case '\\':
				esc = true
				j++
				if j >= len(b) {
					return j, esc, false
				}
				switch b[j] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					j++
				case 'u':
					if len(b)-j < 5 {
						return j, esc, false
					}
					for k := j + 1; k <= j+4; k++ {
						if unhex(b[k]) < 0 {
							return k, esc, false
						}
					}
					j += 5
				default:
					return j, esc, false
				}
			default: // control character
				return j, esc, false
			}
			continue
		}
		r, n := utf8.DecodeRune(b[j:])
		if r == utf8.RuneError && n == 1 {
			return j, esc, false
		}
		j += n
	}
	return j, esc, false
}

func unhex(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// decodeString appends to dst the text of raw, the validated contents of a
// JSON string, with its escape sequences decoded. A lone UTF-16 surrogate
// becomes U+FFFD, as in encoding/json, so the result is valid UTF-8.
func decodeString(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		e := raw[i+1]
		i += 2
		switch e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(raw[i:])
			i += 4
			if r >= 0xD800 && r < 0xDC00 && len(raw)-i >= 6 && raw[i] == '\\' && raw[i+1] == 'u' {
				if r2 := hex4(raw[i+2:]); r2 >= 0xDC00 && r2 < 0xE000 {
					r = (r-0xD800)<<10 | (r2 - 0xDC00) + 0x10000
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, r) // a lone surrogate is written as U+FFFD
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
	}
	return dst
}

func hex4(b []byte) rune {
	return unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3])
}

// plainNoQuote8 is plain8 without the test for '"'.
func plainNoQuote8(x uint64) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	less := (x - 0x20*ones) & ^x // high bit set where a byte < 0x20 (or >= 0x80)
	back := (x ^ '\\'*ones) - ones
	back &= ^(x ^ '\\'*ones)
	return (less|back|x)&highs == 0
}

// plain8 reports whether the 8 bytes in x are all ASCII, not control
// characters, not '"' and not '\\' (SWAR; see "Bit Twiddling Hacks").
func plain8(x uint64) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	less := (x - 0x20*ones) & ^x   // high bit set where a byte < 0x20 (or >= 0x80)
	quote := (x ^ '"'*ones) - ones // high bit set where a byte == '"' (when no high bits)
	quote &= ^(x ^ '"'*ones)
	back := (x ^ '\\'*ones) - ones
	back &= ^(x ^ '\\'*ones)
	return (less|quote|back|x)&highs == 0
}
