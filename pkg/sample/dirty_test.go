package sample

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// parseTimestamp accepts the timestamp forms of cleaning.md (time.Parse takes
// a fraction after the seconds without it being in the layout).
func parseTimestamp(s string) (time.Time, bool) {
	for _, l := range []string{
		"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05Z07:00", "2006-01-02",
	} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

var (
	intRe    = regexp.MustCompile(`^[+-]?[0-9]+$`)
	offsetRe = regexp.MustCompile(`[+-][0-9]{2}:[0-9]{2}$`)
	fracRe   = regexp.MustCompile(`\.([0-9]+)`)
)

func TestDirtyRecords(t *testing.T) {
	const n = 10_000
	g := New(13)
	type table struct {
		name  string
		key   string
		clean func(Row) []byte
		want  []dirt
	}
	tables := []table{
		{"pin", "index", Row.PinJSON, []dirt{dirtStringScalar, dirtIndAlias, dirtExtraKey, dirtBlankLine,
			dirtTruncated, dirtNotObject, dirtMissingKey, dirtBadKey, dirtMissingUniqueID}},
		{"geo", "ind", Row.GeoJSON, []dirt{dirtStringScalar, dirtTimestampForm, dirtBadTimestamp, dirtExtraKey,
			dirtBlankLine, dirtTruncated, dirtNotObject, dirtMissingKey, dirtBadKey}},
		{"user", "ind", Row.UserJSON, []dirt{dirtStringScalar, dirtTimestampForm, dirtBadTimestamp, dirtExtraKey,
			dirtBlankLine, dirtTruncated, dirtNotObject, dirtMissingKey, dirtBadKey}},
	}
	counts := make([]map[dirt]int, len(tables))
	for k := range counts {
		counts[k] = map[dirt]int{}
	}
	tsForms := map[string]int{}
	for i := range n {
		row := g.Row(i)
		recs, kinds := g.dirty(i)
		pub := [3][]byte{}
		pub[0], pub[1], pub[2] = g.DirtyRecords(i)
		for k, tb := range tables {
			if string(pub[k]) != string(recs[k]) {
				t.Fatalf("%s row %d: DirtyRecords and dirty differ", tb.name, i)
			}
			d := kinds[k]
			for bit := dirt(1); bit <= dirtMissingUniqueID; bit <<= 1 {
				if d&bit != 0 {
					counts[k][bit]++
				}
			}
			lines := strings.Split(string(recs[k]), "\n")
			rec := lines[len(lines)-1]
			if (len(lines) > 1) != (d&dirtBlankLine != 0) {
				t.Fatalf("%s row %d: %d lines with dirt %b: %q", tb.name, i, len(lines), d, recs[k])
			}
			for _, l := range lines[:len(lines)-1] {
				if strings.TrimSpace(l) != "" {
					t.Fatalf("%s row %d: non-blank extra line %q", tb.name, i, l)
				}
			}
			checkDirty(t, tb.name, i, tb.key, rec, d, decodeObject(t, tb.clean(row)), tsForms)
		}
	}
	for k, tb := range tables {
		for _, bit := range tb.want {
			if counts[k][bit] == 0 {
				t.Errorf("%s: dirt %b never appears in %d rows", tb.name, bit, n)
			}
		}
		rates := []struct {
			bit  dirt
			want float64
		}{
			{dirtExtraKey, DirtyExtraKeyRate},
			{dirtBlankLine, DirtyBlankLineRate},
			{dirtBroken, DirtyBrokenRate},
		}
		if tb.name == "pin" {
			rates = append(rates, struct {
				bit  dirt
				want float64
			}{dirtIndAlias, DirtyIndAliasRate})
		} else {
			rates = append(rates, struct {
				bit  dirt
				want float64
			}{dirtTimestampForm, DirtyTimestampFormRate}, struct {
				bit  dirt
				want float64
			}{dirtBadTimestamp, DirtyBadTimestampRate})
		}
		for _, r := range rates {
			c := 0
			for bit, v := range counts[k] {
				if bit&r.bit != 0 {
					c += v
				}
			}
			if got := float64(c) / n; got < 0.6*r.want || got > 1.5*r.want {
				t.Errorf("%s: dirt %b rate %.4f, want about %.4f", tb.name, r.bit, got, r.want)
			}
		}
		t.Logf("%s: %v", tb.name, counts[k])
	}
	for _, f := range []string{"T", "fraction", "Z", "offset", "date"} {
		if tsForms[f] == 0 {
			t.Errorf("timestamp form %s never appears: %v", f, tsForms)
		}
	}
	for digits := 1; digits <= 9; digits++ {
		if tsForms["fraction"+itoa(digits)] == 0 {
			t.Errorf("no fraction of %d digits: %v", digits, tsForms)
		}
	}
}

// checkDirty checks one dirty record against the clean record of its row.
func checkDirty(t *testing.T, table string, i int, key, rec string, d dirt, clean map[string]any, tsForms map[string]int) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s row %d (dirt %b): %s\n%s", table, i, d, strings.TrimSpace(fmt.Sprintf(format, args...)), rec)
	}
	m := decodeObject(t, []byte(rec))
	switch {
	case d&dirtTruncated != 0:
		if json.Valid([]byte(rec)) {
			fail("truncated record is valid JSON")
		}
		return
	case d&dirtNotObject != 0:
		if !json.Valid([]byte(rec)) || m != nil {
			fail("not-object record is not valid non-object JSON")
		}
		return
	case m == nil:
		fail("not a JSON object")
	case d&dirtMissingKey != 0:
		if m[key] != nil || m["ind"] != nil {
			fail("key present")
		}
		return
	case d&dirtBadKey != 0:
		for _, k := range []string{key, "ind"} {
			if v, ok := m[k]; ok {
				if s, isNum := v.(json.Number); isNum && intRe.MatchString(string(s)) {
					if f, _ := s.Float64(); f >= 0 && f <= math.MaxInt32 {
						fail("valid key %v", v)
					}
				}
			}
		}
		return
	case d&dirtMissingUniqueID != 0:
		if s, _ := m["unique_id"].(string); strings.TrimSpace(s) != "" {
			fail("unique_id present")
		}
		return
	}
	if d&dirtIndAlias != 0 {
		if m["index"] != nil {
			fail("index present with the ind alias")
		}
		m["index"] = m["ind"]
		delete(m, "ind")
	}
	for k, want := range clean {
		got, ok := m[k]
		if !ok {
			fail("key %s missing", k)
		}
		switch k {
		case "index", "ind", "downloaded", "age", "latitude", "longitude":
			if s, isStr := got.(string); isStr {
				got = json.Number(strings.TrimSpace(s))
			}
			if got != want {
				fail("%s = %#v, want %#v", k, got, want)
			}
		case "timestamp", "date_joined":
			s := got.(string)
			wt, _ := parseTimestamp(want.(string))
			gt, ok := parseTimestamp(s)
			switch {
			case !ok:
				if d&dirtBadTimestamp == 0 {
					fail("%s %q unparseable", k, s)
				}
			case len(s) == 10:
				tsForms["date"]++
				if !gt.Equal(wt.Truncate(24 * time.Hour)) {
					fail("%s %q is not the date of %v", k, s, wt)
				}
			case !gt.Truncate(time.Second).Equal(wt):
				fail("%s %q = %v, want %v", k, s, gt, wt)
			default:
				if strings.Contains(s, "T") {
					tsForms["T"]++
				}
				if strings.HasSuffix(s, "Z") {
					tsForms["Z"]++
				}
				if offsetRe.MatchString(s) {
					tsForms["offset"]++
				}
				if f := fracRe.FindStringSubmatch(s); f != nil {
					tsForms["fraction"]++
					tsForms["fraction"+itoa(len(f[1]))]++
				}
			}
		default:
			if got != want {
				fail("%s = %#v, want %#v", k, got, want)
			}
		}
	}
	extra := len(m) - len(clean)
	if (extra > 0) != (d&dirtExtraKey != 0) || extra > 1 {
		fail("%d extra keys", extra)
	}
}
