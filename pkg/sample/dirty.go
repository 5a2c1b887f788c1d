package sample

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Rates of the wire-level dirt of DirtyRecords, as probabilities per record
// (or per field where said). Each of the three records of a row draws its
// dirt independently.
const (
	DirtyStringScalarRate  = 0.10 // per numeric field (index/ind, downloaded, latitude, longitude, age): sent as a JSON string ("ind":"7528")
	DirtyPaddedScalarRate  = 0.01 // per numeric field: sent as a padded string ("ind":" 7528 ")
	DirtyTimestampFormRate = 0.25 // per timestamp: another accepted form (T, fraction, Z, ±HH:MM, bare date)
	DirtyBadTimestampRate  = 0.01 // per timestamp: an unparseable one (24:00:00, 2021-02-30, +0200, ...)
	DirtyIndAliasRate      = 0.02 // pin only: the key sent as "ind" (half the time with "index":null) instead of "index"
	DirtyExtraKeyRate      = 0.02 // an unknown extra key
	DirtyBlankLineRate     = 0.01 // a blank or white-space line before the record
	DirtyBrokenRate        = 0.01 // a broken record: truncated JSON, non-object JSON, missing or invalid key, or (pin) missing unique_id
)

// dirt is a set of kinds of wire dirt found in one dirty record.
type dirt uint16

const (
	dirtStringScalar dirt = 1 << iota
	dirtTimestampForm
	dirtBadTimestamp
	dirtIndAlias
	dirtExtraKey
	dirtBlankLine
	dirtTruncated
	dirtNotObject
	dirtMissingKey
	dirtBadKey
	dirtMissingUniqueID
)

const dirtBroken = dirtTruncated | dirtNotObject | dirtMissingKey | dirtBadKey | dirtMissingUniqueID

// DirtyRecords returns the three wire records of row i with the dirt a real
// stream shows (see the Dirty* rates). It is deterministic in the seed and i.
//
// What a consumer should make of them:
//   - Scalars sent as strings, extra keys, the "ind" alias of pin and the
//     offset forms of timestamps (converted so that the UTC instant is the
//     row's) clean to the same values as the plain records.
//   - A timestamp with a fraction gains random sub-second digits; a bare date
//     loses the time of day; an unparseable timestamp cleans to null.
//   - A result may start with a blank or white-space-only line: write it
//     followed by "\n" and a line reader sees a blank line, then the record.
//   - A broken record is rejected by cleaning.md's rules.
func (g *Generator) DirtyRecords(i int) (pin, geo, user []byte) {
	recs, _ := g.dirty(i)
	return recs[0], recs[1], recs[2]
}

// dirty returns the dirty records of row i (pin, geo, user) and which dirt
// each one carries.
func (g *Generator) dirty(i int) (recs [3][]byte, kinds [3]dirt) {
	row := g.Row(i)
	r := newRand(g.seed, streamDirty, i)
	recs[0], kinds[0] = dirtyRecord(r, row.pinFields(), "index", true)
	recs[1], kinds[1] = dirtyRecord(r, row.geoFields(), "ind", false)
	recs[2], kinds[2] = dirtyRecord(r, row.userFields(), "ind", false)
	return recs, kinds
}

var (
	numericKeys   = []string{"index", "ind", "downloaded", "latitude", "longitude", "age"}
	timestampKeys = []string{"timestamp", "date_joined"}
	extraKeys     = []field{
		{"_source", []byte(`"pinpipe-sample"`)},
		{"extra", []byte(`{"nested":[1,2,{"a":null}]}`)},
		{"emitted_at", []byte(`"2023-01-01 00:00:00"`)},
		{"__v", []byte(`1`)},
		{"IND", []byte(`-1`)},
	}
	notObjects = []string{`[1,2]`, `"pin"`, `42`, `null`, `true`, `[]`}
	badKeys    = []string{`"abc"`, `-3`, `2147483648`, `"7528.0"`, `1e3`, `true`, `12.5`}
	blanks     = []string{"\n", " \n", "\t\n", "  \t \n"}
)

func dirtyRecord(r *rand.Rand, fs []field, key string, isPin bool) ([]byte, dirt) {
	var d dirt
	for k := range fs {
		f := &fs[k]
		switch {
		case slices.Contains(numericKeys, f.key):
			if x := r.Float64(); x < DirtyStringScalarRate {
				f.val = jsonString(string(f.val))
				d |= dirtStringScalar
			} else if x < DirtyStringScalarRate+DirtyPaddedScalarRate {
				f.val = jsonString(pads[r.IntN(len(pads))] + string(f.val) + " ")
				d |= dirtStringScalar
			}
		case slices.Contains(timestampKeys, f.key):
			t, err := time.Parse(`"`+DateTimeLayout+`"`, string(f.val))
			if err != nil {
				continue
			}
			if x := r.Float64(); x < DirtyTimestampFormRate {
				f.val = jsonString(timestampForm(r, t))
				d |= dirtTimestampForm
			} else if x < DirtyTimestampFormRate+DirtyBadTimestampRate {
				f.val = jsonString(badTimestamp(r, t))
				d |= dirtBadTimestamp
			}
		}
	}
	if isPin && r.Float64() < DirtyIndAliasRate {
		d |= dirtIndAlias
		if r.IntN(2) == 0 {
			fs[0].key = "ind"
		} else {
			fs = append(fs, field{"ind", fs[0].val})
			fs[0].val = []byte("null")
		}
	}
	if r.Float64() < DirtyExtraKeyRate {
		e := extraKeys[r.IntN(len(extraKeys))]
		at := r.IntN(len(fs) + 1)
		fs = slices.Insert(fs, at, e)
		d |= dirtExtraKey
	}

	var out []byte
	if r.Float64() < DirtyBrokenRate {
		kinds := 4
		if isPin {
			kinds = 5
		}
		switch r.IntN(kinds) {
		case 0:
			b := encodeObject(fs)
			cut := 1 + r.IntN(len(b)-1)
			for cut > 1 && !utf8.RuneStart(b[cut]) {
				cut--
			}
			out = b[:cut]
			d |= dirtTruncated
		case 1:
			out = []byte(notObjects[r.IntN(len(notObjects))])
			d |= dirtNotObject
		case 2:
			fs = slices.DeleteFunc(fs, func(f field) bool { return f.key == key || f.key == "ind" })
			out = encodeObject(fs)
			d |= dirtMissingKey
		case 3:
			bad := []byte(badKeys[r.IntN(len(badKeys))])
			for k := range fs {
				if fs[k].key == key || fs[k].key == "ind" {
					fs[k].val = bad
				}
			}
			out = encodeObject(fs)
			d |= dirtBadKey
		default:
			u := slices.IndexFunc(fs, func(f field) bool { return f.key == "unique_id" })
			switch r.IntN(3) {
			case 0:
				fs = slices.Delete(fs, u, u+1)
			case 1:
				fs[u].val = []byte("null")
			default:
				fs[u].val = []byte(`"  "`)
			}
			out = encodeObject(fs)
			d |= dirtMissingUniqueID
		}
	} else {
		out = encodeObject(fs)
	}

	if r.Float64() < DirtyBlankLineRate {
		out = append([]byte(blanks[r.IntN(len(blanks))]), out...)
		d |= dirtBlankLine
	}
	return out, d
}

// timestampForm writes t in one of the other accepted forms of cleaning.md.
// Offsets are applied so the instant stays t.
func timestampForm(r *rand.Rand, t time.Time) string {
	sep := " "
	if r.IntN(2) == 0 {
		sep = "T"
	}
	frac := func() string {
		n := 1 + r.IntN(9)
		var b strings.Builder
		b.WriteByte('.')
		for range n {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		return b.String()
	}
	switch r.IntN(6) {
	case 0:
		return t.Format("2006-01-02T15:04:05")
	case 1:
		return t.Format("2006-01-02"+sep+"15:04:05") + frac()
	case 2:
		return t.Format("2006-01-02"+sep+"15:04:05") + "Z"
	case 3, 4:
		// Offsets of -12:00 .. +14:00 in quarter hours.
		off := (r.IntN(105) - 48) * 15 * 60
		s := t.In(time.FixedZone("", off)).Format("2006-01-02" + sep + "15:04:05")
		if r.IntN(2) == 0 {
			s += frac()
		}
		return s + offsetText(off)
	default:
		return t.Format("2006-01-02")
	}
}

func offsetText(sec int) string {
	sign := byte('+')
	if sec < 0 {
		sign, sec = '-', -sec
	}
	return string(sign) + pad2(sec/3600) + ":" + pad2(sec%3600/60)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// badTimestamp writes an unparseable timestamp near t.
func badTimestamp(r *rand.Rand, t time.Time) string {
	switch r.IntN(6) {
	case 0:
		return t.Format("2006-01-02") + " 24:00:00"
	case 1:
		return t.Format("2006") + "-02-30 " + t.Format("15:04:05")
	case 2:
		return t.Format(DateTimeLayout) + "+0200"
	case 3:
		return t.Format("2006-01-02 15:04")
	case 4:
		return t.Format("2006-01-02t15:04:05z")
	default:
		return t.Format("02/01/2006 15:04:05")
	}
}
