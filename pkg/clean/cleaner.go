package clean

import (
	"bytes"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Cleaner cleans records and counts their quality (cleaning.md). It is not
// safe for concurrent use: use one per goroutine and combine their reports
// with Quality.Merge. The zero value is not ready for use; call New.
//
// Records are parsed as strict JSON (RFC 8259). When an object holds the
// same key more than once, the last occurrence wins, as in encoding/json.
//
// A Cleaner only counts what it sees: RowsRead, BlankLines, Rejected and
// Nulls. Duplicates and RowsWritten are left at zero for the job that
// deduplicates and writes. Nulls are counted for accepted rows only.
type Cleaner struct {
	counts [len(Tables)]tableCounts
	vals   [pinFields]rawVal
	tmp    []byte // decoded escapes of the value at hand
	keyBuf []byte // decoded escapes of the key at hand
	num    []byte // scratch for numbers
	out    []byte // the string bytes of the row being built
	arena  []byte // the chunk the strings of rows are carved from, with SetArena
	chunk  int    // the largest chunk; 0: a string is allocated per row
}

// SetArena makes the Cleaner carve the strings of the rows it returns from
// chunks of memory it allocates, the first small (2 KiB, or limit if less)
// and each next twice the last, up to limit bytes; a row whose strings take
// more than half of limit still gets its own allocation. That is one allocation per
// chunk rather than one per row, which spares the allocator and the
// collector, at a cost: a chunk stays in memory while any string carved from
// it is reachable. It suits a job that keeps most rows it cleans until its end
// (the batch job). limit <= 0 turns it off.
func (c *Cleaner) SetArena(limit int) {
	c.chunk = limit
	c.arena = nil
}

// firstChunk is the size of the first chunk of an arena: small, so that a
// Cleaner that cleans one short record holds little.
const firstChunk = 2 << 10

// str returns b as a string that does not alias b: carved from the arena
// when there is one, else allocated.
func (c *Cleaner) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if c.chunk <= 0 || len(b) > c.chunk/2 {
		return string(b)
	}
	if len(b) > cap(c.arena)-len(c.arena) {
		size := min(firstChunk, c.chunk)
		if cap(c.arena) > 0 {
			size = min(2*cap(c.arena), c.chunk)
		}
		c.arena = make([]byte, 0, max(size, len(b)))
	}
	at := len(c.arena)
	c.arena = append(c.arena, b...)
	// The bytes at [at, len) are never written again: later strings go after
	// them, and a full chunk is replaced, not reused.
	return unsafe.String(&c.arena[at], len(b))
}

// tableCounts are the counters of one table, nulls indexed by column.
type tableCounts struct {
	rowsRead, blank int64
	rejected        [nReasons]int64
	nulls           [pinColumns]ColumnNulls
	unknown         keyCounter
}

// The rejection reasons, indexes of tableCounts.rejected.
const (
	rInvalidJSON = iota
	rNotObject
	rMissingKey
	rInvalidKey
	rMissingUniqueID
	nReasons
)

func reasonAt(i int) Reason {
	switch i {
	case rInvalidJSON:
		return ReasonInvalidJSON
	case rNotObject:
		return ReasonNotObject
	case rMissingKey:
		return ReasonMissingKey
	case rInvalidKey:
		return ReasonInvalidKey
	}
	return ReasonMissingUniqueID
}

// New returns a Cleaner with all counters at zero.
func New() *Cleaner {
	return &Cleaner{
		tmp: make([]byte, 0, 256),
		num: make([]byte, 0, 64),
		out: make([]byte, 0, 1024),
	}
}

// Table indexes into Cleaner.counts.
const (
	iPin = iota
	iGeo
	iUser
)

// Columns of the clean tables, in cleaning.md order.
const (
	pinInd = iota
	pinUniqueID
	pinTitle
	pinDescription
	pinFollowerCount
	pinPosterName
	pinTagList
	pinIsImageOrVideo
	pinImageSrc
	pinSaveLocation
	pinCategory
	pinColumns
)

const (
	geoInd = iota
	geoCountry
	geoCoordinates
	geoTimestamp
	geoColumns
)

const (
	userInd = iota
	userUserName
	userAge
	userDateJoined
	userColumns
)

// firstNullable is the index of the first nullable column of each table;
// the columns before it are the key and required fields.
func firstNullable(t int) int {
	if t == iPin {
		return pinTitle
	}
	return 1
}

// NullableColumns lists the output columns of a table that may be null, in
// cleaning.md order: all but the key ind and, for pin, the required
// unique_id. Nil for an unknown table.
func NullableColumns(t Table) []string {
	i := slices.Index(Tables[:], t)
	if i < 0 {
		return nil
	}
	return Columns(t)[firstNullable(i):]
}

// Columns lists the output columns of a table in cleaning.md order, or nil
// for an unknown table.
func Columns(t Table) []string {
	switch t {
	case TablePin:
		return []string{"ind", "unique_id", "title", "description", "follower_count", "poster_name",
			"tag_list", "is_image_or_video", "image_src", "save_location", "category"}
	case TableGeo:
		return []string{"ind", "country", "coordinates", "timestamp"}
	case TableUser:
		return []string{"ind", "user_name", "age", "date_joined"}
	}
	return nil
}

// Raw fields of the source records, the slots of Cleaner.vals.
const (
	pfIndex = iota
	pfInd
	pfUniqueID
	pfTitle
	pfDescription
	pfFollowerCount
	pfPosterName
	pfTagList
	pfIsImageOrVideo
	pfImageSrc
	pfSaveLocation
	pfCategory
	pinFields
)

func pinField(k []byte) int {
	switch string(k) {
	case "index":
		return pfIndex
	case "ind":
		return pfInd
	case "unique_id":
		return pfUniqueID
	case "title":
		return pfTitle
	case "description":
		return pfDescription
	case "follower_count":
		return pfFollowerCount
	case "poster_name":
		return pfPosterName
	case "tag_list":
		return pfTagList
	case "is_image_or_video":
		return pfIsImageOrVideo
	case "image_src":
		return pfImageSrc
	case "save_location":
		return pfSaveLocation
	case "category":
		return pfCategory
	case "downloaded":
		return slotDropped // data.md's column that cleaning.md drops
	}
	return slotUnknown
}

const (
	gfInd = iota
	gfTimestamp
	gfLatitude
	gfLongitude
	gfCountry
	geoFields
)

func geoField(k []byte) int {
	switch string(k) {
	case "ind":
		return gfInd
	case "timestamp":
		return gfTimestamp
	case "latitude":
		return gfLatitude
	case "longitude":
		return gfLongitude
	case "country":
		return gfCountry
	}
	return slotUnknown
}

const (
	ufInd = iota
	ufFirstName
	ufLastName
	ufAge
	ufDateJoined
	userFields
)

func userField(k []byte) int {
	switch string(k) {
	case "ind":
		return ufInd
	case "first_name":
		return ufFirstName
	case "last_name":
		return ufLastName
	case "age":
		return ufAge
	case "date_joined":
		return ufDateJoined
	}
	return slotUnknown
}

// state is the outcome of reading one value.
type state uint8

const (
	stOK          state = iota
	stMissing           // absent, null, or empty after trimming
	stPlaceholder       // a "no data" placeholder
	stUnparseable       // cannot be parsed or out of range
)

// maxKey is the largest key, 2^31-1.
const maxKey = 1<<31 - 1

// begin counts a line and parses it into c.vals[:n]. It returns ErrBlank or
// a *RecordError for a line that is not a JSON object.
func (c *Cleaner) begin(line []byte, t, n int, field func([]byte) int) error {
	tc := &c.counts[t]
	// Fast path: a record starts with '{'; anything else may be blank.
	if i := skipWS(line, 0); i >= len(line) || line[i] != '{' {
		if isBlank(line) {
			tc.blank++
			return ErrBlank
		}
	}
	tc.rowsRead++
	vals := c.vals[:n]
	clear(vals)
	res, off, kb := scanObject(line, vals, field, c.keyBuf[:0], &c.counts[t].unknown)
	c.keyBuf = kb
	switch res {
	case scanInvalid:
		if !utf8.Valid(line) {
			return c.reject(t, rInvalidJSON, "", "invalid UTF-8")
		}
		return c.reject(t, rInvalidJSON, "", "invalid JSON at byte "+strconv.Itoa(off))
	case scanNotObject:
		return c.reject(t, rNotObject, "", "the record is not a JSON object")
	}
	return nil
}

func (c *Cleaner) reject(t, r int, field, detail string) *RecordError {
	c.counts[t].rejected[r]++
	return &RecordError{Table: Tables[t], Reason: reasonAt(r), Field: field, Detail: detail}
}

// text returns the trimmed text of a scalar value. The result is valid until
// the next call.
func (c *Cleaner) text(line []byte, v *rawVal) ([]byte, state) {
	switch v.kind {
	case kindString:
		s := v.bytes(line)
		if v.esc {
			c.tmp = decodeString(c.tmp[:0], s)
			s = c.tmp
		}
		if s = trimSpace(s); len(s) == 0 {
			return nil, stMissing
		}
		return s, stOK
	case kindNumber:
		return v.bytes(line), stOK
	case kindAbsent, kindNull:
		return nil, stMissing
	}
	return nil, stUnparseable // a boolean, an object or an array
}

// key reads a key field: ok, missing, or unparseable (invalid).
func (c *Cleaner) key(line []byte, v *rawVal) (int64, state) {
	s, st := c.text(line, v)
	if st != stOK {
		return 0, st
	}
	k, ok := parseInt(s, maxKey)
	if !ok {
		return 0, stUnparseable
	}
	return k, stOK
}

func (c *Cleaner) countNull(t, col int, st state) {
	n := &c.counts[t].nulls[col]
	switch st {
	case stMissing:
		n.Missing++
	case stPlaceholder:
		n.Placeholder++
	case stUnparseable:
		n.Unparseable++
	}
}

// span is a string of the row being built: c.out[a:b].
type span struct {
	a, b  int32
	valid bool
}

// appendStr appends the trimmed text of v to c.out unless it is null or one
// of the placeholders, and counts the null.
func (c *Cleaner) appendStr(line []byte, t, col int, v *rawVal, placeholders ...string) span {
	s, st := c.text(line, v)
	if st == stOK {
		for _, p := range placeholders {
			if string(s) == p {
				st = stPlaceholder
				break
			}
		}
	}
	if st != stOK {
		c.countNull(t, col, st)
		return span{}
	}
	a := len(c.out)
	c.out = append(c.out, s...)
	return span{a: int32(a), b: int32(len(c.out)), valid: true}
}

func (s span) str(all string) Str {
	if !s.valid {
		return Str{}
	}
	return Str{V: all[s.a:s.b], Valid: true}
}

const userInfoError = "User Info Error"

// Pin cleans one raw pin record. It returns ErrBlank for a blank line and a
// *RecordError for a rejected record; the counters are updated either way.
// The strings of the row do not alias line.
func (c *Cleaner) Pin(line []byte) (Pin, error) {
	const t = iPin
	if err := c.begin(line, t, pinFields, pinField); err != nil {
		return Pin{}, err
	}
	v := &c.vals
	var p Pin
	// The key: index, or ind when index is absent, null or empty.
	k, st := c.key(line, &v[pfIndex])
	switch st {
	case stUnparseable:
		return Pin{}, c.reject(t, rInvalidKey, "index", "index must be an integer in [0, 2147483647]")
	case stMissing:
		k, st = c.key(line, &v[pfInd])
		switch st {
		case stUnparseable:
			return Pin{}, c.reject(t, rInvalidKey, "ind", "ind must be an integer in [0, 2147483647]")
		case stMissing:
			return Pin{}, c.reject(t, rMissingKey, "index", "neither index nor ind is given")
		}
	}
	p.Ind = k

	c.out = c.out[:0]
	uid, st := c.text(line, &v[pfUniqueID])
	if st != stOK {
		return Pin{}, c.reject(t, rMissingUniqueID, "unique_id", "unique_id must be a non-empty string")
	}
	c.out = append(c.out, uid...)
	nUID := len(c.out)

	title := c.appendStr(line, t, pinTitle, &v[pfTitle], "No Title Data Available")
	desc := c.appendStr(line, t, pinDescription, &v[pfDescription],
		"No description available Story format", "No description available")
	poster := c.appendStr(line, t, pinPosterName, &v[pfPosterName], userInfoError)
	tags := c.appendStr(line, t, pinTagList, &v[pfTagList], "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e")
	kind := c.appendStr(line, t, pinIsImageOrVideo, &v[pfIsImageOrVideo])
	src := c.appendStr(line, t, pinImageSrc, &v[pfImageSrc], "Image src error.")
	cat := c.appendStr(line, t, pinCategory, &v[pfCategory])

	var save span
	if s, st := c.text(line, &v[pfSaveLocation]); st != stOK {
		c.countNull(t, pinSaveLocation, st)
	} else if i := bytes.IndexByte(s, '/'); i < 0 {
		c.countNull(t, pinSaveLocation, stUnparseable)
	} else {
		a := len(c.out)
		c.out = append(c.out, s[i:]...)
		save = span{a: int32(a), b: int32(len(c.out)), valid: true}
	}

	if s, st := c.text(line, &v[pfFollowerCount]); st != stOK {
		c.countNull(t, pinFollowerCount, st)
	} else if string(s) == userInfoError {
		c.countNull(t, pinFollowerCount, stPlaceholder)
	} else if n, ok := parseFollowers(s); !ok {
		c.countNull(t, pinFollowerCount, stUnparseable)
	} else {
		p.FollowerCount = Int64{V: n, Valid: true}
	}

	all := c.str(c.out) // the one allocation of the row, or none with an arena
	p.UniqueID = all[:nUID]
	p.Title = title.str(all)
	p.Description = desc.str(all)
	p.PosterName = poster.str(all)
	p.TagList = tags.str(all)
	p.IsImageOrVideo = kind.str(all)
	p.ImageSrc = src.str(all)
	p.SaveLocation = save.str(all)
	p.Category = cat.str(all)
	return p, nil
}

// requiredInd reads the ind key of a geo or user record.
func (c *Cleaner) requiredInd(line []byte, t int, v *rawVal) (int64, error) {
	k, st := c.key(line, v)
	switch st {
	case stUnparseable:
		return 0, c.reject(t, rInvalidKey, "ind", "ind must be an integer in [0, 2147483647]")
	case stMissing:
		return 0, c.reject(t, rMissingKey, "ind", "ind is not given")
	}
	return k, nil
}

// timestamp reads a timestamp column and counts its null.
func (c *Cleaner) timestamp(line []byte, t, col int, v *rawVal) Time {
	s, st := c.text(line, v)
	if st == stOK {
		if us, ok := parseTimestamp(s); ok {
			return Time{Micros: us, Valid: true}
		}
		st = stUnparseable
	}
	c.countNull(t, col, st)
	return Time{}
}

// Geo cleans one raw geo record; see Pin for the errors.
func (c *Cleaner) Geo(line []byte) (Geo, error) {
	const t = iGeo
	if err := c.begin(line, t, geoFields, geoField); err != nil {
		return Geo{}, err
	}
	v := &c.vals
	k, err := c.requiredInd(line, t, &v[gfInd])
	if err != nil {
		return Geo{}, err
	}
	g := Geo{Ind: k}

	if s, st := c.text(line, &v[gfCountry]); st != stOK {
		c.countNull(t, geoCountry, st)
	} else {
		g.Country = Str{V: c.str(s), Valid: true}
	}

	// Coordinates: unparseable when a given value is bad, else missing
	// when one is not given.
	lat, stLat := c.coord(line, &v[gfLatitude], 90)
	lon, stLon := c.coord(line, &v[gfLongitude], 180)
	switch {
	case stLat == stOK && stLon == stOK:
		g.Coordinates = Coords{Lat: lat, Lon: lon, Valid: true}
	case stLat == stUnparseable || stLon == stUnparseable:
		c.countNull(t, geoCoordinates, stUnparseable)
	default:
		c.countNull(t, geoCoordinates, stMissing)
	}

	g.Timestamp = c.timestamp(line, t, geoTimestamp, &v[gfTimestamp])
	return g, nil
}

func (c *Cleaner) coord(line []byte, v *rawVal, limit float64) (float64, state) {
	s, st := c.text(line, v)
	if st != stOK {
		return 0, st
	}
	f, ok := parseCoord(s, limit)
	if !ok {
		return 0, stUnparseable
	}
	return f, stOK
}

// User cleans one raw user record; see Pin for the errors.
func (c *Cleaner) User(line []byte) (User, error) {
	const t = iUser
	if err := c.begin(line, t, userFields, userField); err != nil {
		return User{}, err
	}
	v := &c.vals
	k, err := c.requiredInd(line, t, &v[ufInd])
	if err != nil {
		return User{}, err
	}
	u := User{Ind: k}

	// user_name: first + " " + last, or the one given; null when neither
	// is (unparseable when a bad value, such as a boolean, was given).
	c.out = c.out[:0]
	first, stFirst := c.text(line, &v[ufFirstName])
	if stFirst == stOK {
		c.out = append(c.out, first...)
	}
	last, stLast := c.text(line, &v[ufLastName])
	if stLast == stOK {
		if len(c.out) > 0 {
			c.out = append(c.out, ' ')
		}
		c.out = append(c.out, last...)
	}
	switch {
	case len(c.out) > 0:
		u.UserName = Str{V: c.str(c.out), Valid: true}
	case stFirst == stUnparseable || stLast == stUnparseable:
		c.countNull(t, userUserName, stUnparseable)
	default:
		c.countNull(t, userUserName, stMissing)
	}

	if s, st := c.text(line, &v[ufAge]); st != stOK {
		c.countNull(t, userAge, st)
	} else if a, ok := parseInt(s, 130); !ok {
		c.countNull(t, userAge, stUnparseable)
	} else {
		u.Age = Int32{V: int32(a), Valid: true}
	}

	u.DateJoined = c.timestamp(line, t, userDateJoined, &v[ufDateJoined])
	return u, nil
}

// Quality returns a snapshot of the counters: a deep copy in the shape of
// Quality.Normalize (maps never nil, a Nulls entry for every nullable column
// of each table, Rejected holding the reasons seen at least once).
func (c *Cleaner) Quality() Quality {
	var q Quality
	for t := range Tables {
		tc := &c.counts[t]
		tq := q.Table(Tables[t])
		tq.RowsRead = tc.rowsRead
		tq.BlankLines = tc.blank
		tq.Rejected = make(map[Reason]int64)
		for i, n := range tc.rejected {
			tq.Rejected[reasonAt(i)] = n
		}
		cols := Columns(Tables[t])
		tq.Nulls = make(map[string]ColumnNulls, len(cols))
		for i := firstNullable(t); i < len(cols); i++ {
			tq.Nulls[cols[i]] = tc.nulls[i]
		}
		tq.UnknownKeys = tc.unknown.counts()
	}
	q.Normalize()
	return q
}
