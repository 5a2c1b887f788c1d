package clean

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNewRejected(t *testing.T) {
	clean := map[Table]func(*Cleaner, []byte) error{
		TablePin:  func(c *Cleaner, l []byte) error { _, err := c.Pin(l); return err },
		TableGeo:  func(c *Cleaner, l []byte) error { _, err := c.Geo(l); return err },
		TableUser: func(c *Cleaner, l []byte) error { _, err := c.User(l); return err },
	}
	tests := []struct {
		name   string
		table  Table
		line   string
		err    error // given instead of cleaning line, when set
		reason Reason
		detail string
	}{
		{"invalid JSON", TablePin, `{"index": 1,`, nil, ReasonInvalidJSON, "invalid JSON at byte 12"},
		{"invalid UTF-8", TableGeo, "{\"ind\": 1, \"country\": \"\xff\"}", nil, ReasonInvalidJSON, "invalid UTF-8"},
		{"not an object", TableUser, `[1, 2]`, nil, ReasonNotObject, "the record is not a JSON object"},
		{"missing key", TableGeo, `{"country": "x"}`, nil, ReasonMissingKey, "ind is not given"},
		{"missing pin key", TablePin, `{"unique_id": "u"}`, nil, ReasonMissingKey, "neither index nor ind is given"},
		{"invalid key", TableUser, `{"ind": -1}`, nil, ReasonInvalidKey, "ind must be an integer in [0, 2147483647]"},
		{"invalid pin key", TablePin, `{"index": "x", "unique_id": "u"}`, nil, ReasonInvalidKey, "index must be an integer in [0, 2147483647]"},
		{"missing unique_id", TablePin, `{"index": 3}`, nil, ReasonMissingUniqueID, "unique_id must be a non-empty string"},
		{"no detail: the field", TablePin, `{}`, &RecordError{Table: TablePin, Reason: ReasonMissingKey, Field: "index"},
			ReasonMissingKey, "index"},
		{"no detail, no field", TableGeo, `{}`, &RecordError{Table: TableGeo, Reason: ReasonNotObject}, ReasonNotObject, ""},
		{"wrapped record error", TableUser, `{}`, fmt.Errorf("line 3: %w", &RecordError{Reason: ReasonInvalidKey, Field: "ind", Detail: "d"}),
			ReasonInvalidKey, "d"},
		{"undeclared reason", TablePin, `{}`, &RecordError{Table: TablePin, Reason: "error", Detail: "d"}, ReasonUnexpected, "pin: error: d"},
		{"another error", TableGeo, `x`, errors.New("boom"), ReasonUnexpected, "boom"},
		{"a KPL record that does not unpack", TableUser, "\xf3\x89\x9a\xc2", &RecordError{Table: TableUser, Reason: ReasonKPLChecksum, Detail: "d"},
			ReasonKPLChecksum, "d"},
		{"blank is not a rejection", TableUser, ` `, ErrBlank, ReasonUnexpected, "blank line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err
			if err == nil {
				err = clean[tc.table](New(), []byte(tc.line))
				var re *RecordError
				if !errors.As(err, &re) {
					t.Fatalf("cleaning %q: %v, want a *RecordError", tc.line, err)
				}
			}
			raw := []byte(tc.line)
			got := NewRejected(tc.table, err, raw)
			want := Rejected{Table: tc.table, Reason: tc.reason, Detail: tc.detail, Raw: tc.line}
			if got != want {
				t.Errorf("NewRejected = %+v, want %+v", got, want)
			}
			if !slices.Contains(Reasons[:], got.Reason) {
				t.Errorf("reason %q is not one of Reasons", got.Reason)
			}
			if len(raw) > 0 {
				raw[0] = '#'
				if got.Raw != tc.line {
					t.Errorf("Raw aliases the line")
				}
			}
		})
	}
}

// notCleaned are the Reasons a Cleaner never counts.
var notCleaned = []Reason{ReasonUnexpected, ReasonKPLChecksum, ReasonKPLMalformed}

// TestCleanerReasonsDeclared checks that every reason a Cleaner counts is
// declared, and that only those of notCleaned are never counted.
func TestCleanerReasonsDeclared(t *testing.T) {
	var counted []Reason
	for i := range nReasons {
		r := reasonAt(i)
		if !slices.Contains(Reasons[:], r) || slices.Contains(notCleaned, r) || slices.Contains(counted, r) {
			t.Errorf("reason %d is %q", i, r)
		}
		counted = append(counted, r)
	}
	if len(counted) != len(Reasons)-len(notCleaned) {
		t.Errorf("the Cleaner counts %v, Reasons are %v", counted, Reasons)
	}
}

func TestNewRejectedRawCut(t *testing.T) {
	const m = MaxRawBytes
	pad := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		raw  string
		want int // length of the kept prefix
	}{
		{"short", "abc", 3},
		{"empty", "", 0},
		{"exactly the maximum", pad(m), m},
		{"one byte over", pad(m + 1), m},
		{"far over", pad(3 * m), m},
		{"rune ends at the cut", pad(m-2) + "é" + "yz", m},
		{"2-byte rune across the cut", pad(m-1) + "é" + "yz", m - 1},
		{"3-byte rune across the cut", pad(m-2) + "€" + "yz", m - 2},
		{"4-byte rune across the cut, 1 byte in", pad(m-1) + "😀" + "yz", m - 1},
		{"4-byte rune across the cut, 3 bytes in", pad(m-3) + "😀" + "yz", m - 3},
		{"invalid UTF-8 at the cut", pad(m-1) + "\xff\xfe" + "yz", m},
		{"stray continuation bytes", pad(m-5) + strings.Repeat("\x80", 10), m - 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := NewRejected(TablePin, &RecordError{Reason: ReasonInvalidJSON, Detail: "d"}, []byte(tc.raw)).Raw
			if len(got) != tc.want || got != tc.raw[:tc.want] {
				t.Errorf("Raw is %d bytes, want the first %d of %d", len(got), tc.want, len(tc.raw))
			}
			if len(got) > MaxRawBytes {
				t.Errorf("Raw is %d bytes, more than MaxRawBytes", len(got))
			}
			if utf8.ValidString(tc.raw) && !utf8.ValidString(got) {
				t.Errorf("the cut of valid UTF-8 is not valid UTF-8")
			}
		})
	}
}
