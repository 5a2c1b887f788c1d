package parquetio

import (
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/pinpipe/pinpipe/pkg/clean"
)

// Encodings of the columns (see encodings): the keys (ind), ids, free
// text, times, coordinates and sequence numbers are plain; the short
// categorical strings are dictionary arrays; the small-domain numbers
// (follower_count, age) keep the writer's default dictionary. A column
// chunk never mixes dictionary and plain data pages (see
// dictionaryPageLimit): arrow-go lists the encodings of such a chunk in map
// order, which would make the file's bytes differ from run to run.
var (
	pinEncodings = encodings{
		plain: []string{"ind", "unique_id", "title", "description", "tag_list", "image_src", ColSequence, ColArrivalTime},
		dict:  []string{"poster_name", "is_image_or_video", "save_location", "category", ColShard},
	}
	geoEncodings = encodings{
		plain: []string{"ind", "coordinates.list.element", "timestamp", ColSequence, ColArrivalTime},
		dict:  []string{"country", ColShard},
	}
	userEncodings = encodings{
		plain: []string{"ind", "user_name", "date_joined", ColSequence, ColArrivalTime},
		dict:  []string{ColShard},
	}
)

// checkSources reports whether src is nil or has one Source per row.
func checkSources(what string, rows int, src []Source) error {
	if src != nil && len(src) != rows {
		return fmt.Errorf("writing %s: %d sources for %d rows, want one per row or nil", what, len(src), rows)
	}
	return nil
}

func putInt64(b *array.Int64Builder, v clean.Int64) {
	if v.Valid {
		b.Append(v.V)
	} else {
		b.AppendNull()
	}
}

func putInt32(b *array.Int32Builder, v clean.Int32) {
	if v.Valid {
		b.Append(v.V)
	} else {
		b.AppendNull()
	}
}

func putTime(b *array.TimestampBuilder, t clean.Time) {
	if t.Valid {
		b.Append(arrow.Timestamp(t.Micros))
	} else {
		b.AppendNull()
	}
}

func putCoords(b *array.ListBuilder, c clean.Coords) {
	if !c.Valid {
		b.AppendNull()
		return
	}
	b.Append(true)
	vb := b.ValueBuilder().(*array.Float64Builder)
	vb.Append(c.Lat)
	vb.Append(c.Lon)
}

// putSources appends src to the three source columns starting at column first.
func putSources(c *columns, first int, src []Source) {
	shard := c.dict(first) // every table's encodings make the shard a dictionary column
	seq := c.str(first + 1)
	arrival := c.times(first + 2)
	size := 0
	for _, s := range src {
		size += len(s.Sequence)
	}
	seq.ReserveData(size)
	for _, s := range src {
		shard.Append(s.Shard)
		seq.Append(s.Sequence)
		arrival.Append(arrow.Timestamp(s.ArrivalMicros))
	}
}

// WritePins writes rows as a pin file of PinSchema(src != nil). src is nil,
// or holds one Source per row. w is not closed.
func WritePins(w io.Writer, rows []clean.Pin, src []Source, opts Options) error {
	if err := checkSources("pins", len(rows), src); err != nil {
		return err
	}
	err := writeChunked(w, PinSchema(src != nil), len(rows), opts, pinEncodings, func(c *columns, lo, hi int) {
		ind := c.int64s(0)
		// The builder types follow pinEncodings.
		uid := c.str(1)
		title := c.str(2)
		desc := c.str(3)
		fc := c.int64s(4)
		poster := c.dict(5)
		tags := c.str(6)
		kind := c.dict(7)
		img := c.str(8)
		save := c.dict(9)
		cat := c.dict(10)
		var size [pinCols]int // bytes of each string column, to size the builders once
		for i := lo; i < hi; i++ {
			p := &rows[i]
			size[1] += len(p.UniqueID)
			size[2] += len(p.Title.V)
			size[3] += len(p.Description.V)
			size[5] += len(p.PosterName.V)
			size[6] += len(p.TagList.V)
			size[7] += len(p.IsImageOrVideo.V)
			size[8] += len(p.ImageSrc.V)
			size[9] += len(p.SaveLocation.V)
			size[10] += len(p.Category.V)
		}
		for col, n := range size {
			if col != 0 && col != 4 {
				c.reserveData(col, n)
			}
		}
		for i := lo; i < hi; i++ {
			p := &rows[i]
			ind.Append(p.Ind)
			uid.Append(p.UniqueID)
			title.put(p.Title)
			desc.put(p.Description)
			putInt64(fc, p.FollowerCount)
			poster.put(p.PosterName)
			tags.put(p.TagList)
			kind.put(p.IsImageOrVideo)
			img.put(p.ImageSrc)
			save.put(p.SaveLocation)
			cat.put(p.Category)
		}
		if src != nil {
			putSources(c, pinCols, src[lo:hi])
		}
	})
	if err != nil {
		return fmt.Errorf("writing pins: %w", err)
	}
	return nil
}

// WriteGeos writes rows as a geo file of GeoSchema(src != nil). src is nil,
// or holds one Source per row. w is not closed.
func WriteGeos(w io.Writer, rows []clean.Geo, src []Source, opts Options) error {
	if err := checkSources("geos", len(rows), src); err != nil {
		return err
	}
	err := writeChunked(w, GeoSchema(src != nil), len(rows), opts, geoEncodings, func(c *columns, lo, hi int) {
		ind := c.int64s(0)
		country := c.dict(1) // as geoEncodings say
		coords := c.list(2)
		ts := c.times(3)
		coords.ValueBuilder().(*array.Float64Builder).Reserve(2 * (hi - lo))
		for i := lo; i < hi; i++ {
			g := &rows[i]
			ind.Append(g.Ind)
			country.put(g.Country)
			putCoords(coords, g.Coordinates)
			putTime(ts, g.Timestamp)
		}
		if src != nil {
			putSources(c, geoCols, src[lo:hi])
		}
	})
	if err != nil {
		return fmt.Errorf("writing geos: %w", err)
	}
	return nil
}

// WriteUsers writes rows as a user file of UserSchema(src != nil). src is nil,
// or holds one Source per row. w is not closed.
func WriteUsers(w io.Writer, rows []clean.User, src []Source, opts Options) error {
	if err := checkSources("users", len(rows), src); err != nil {
		return err
	}
	err := writeChunked(w, UserSchema(src != nil), len(rows), opts, userEncodings, func(c *columns, lo, hi int) {
		ind := c.int64s(0)
		name := c.str(1)
		age := c.int32s(2)
		joined := c.times(3)
		size := 0
		for i := lo; i < hi; i++ {
			size += len(rows[i].UserName.V)
		}
		name.ReserveData(size)
		for i := lo; i < hi; i++ {
			u := &rows[i]
			ind.Append(u.Ind)
			name.put(u.UserName)
			putInt32(age, u.Age)
			putTime(joined, u.DateJoined)
		}
		if src != nil {
			putSources(c, userCols, src[lo:hi])
		}
	})
	if err != nil {
		return fmt.Errorf("writing users: %w", err)
	}
	return nil
}

// requireInd returns the ind of row i, an error when it is null.
func requireInd(a *array.Int64, i int, what string) (int64, error) {
	if a.IsNull(i) {
		return 0, fmt.Errorf("%w: %s row has a null ind", ErrSchema, what)
	}
	return a.Value(i), nil
}

// ReadPins reads a pin file written by WritePins (or any file with the
// columns of PinSchema). The sources are nil when the file has no source columns.
func ReadPins(r parquet.ReaderAtSeeker) ([]clean.Pin, []Source, error) {
	rows, src, _, err := readPins(r, memory.DefaultAllocator, nil)
	return rows, src, err
}

// ReadPinColumns reads only the columns named of a pin file (of
// PinSchema's, ind among them): the other fields of the rows are null.
func ReadPinColumns(r parquet.ReaderAtSeeker, columns []string) ([]clean.Pin, error) {
	rows, _, _, err := readPins(r, memory.DefaultAllocator, columns)
	return rows, err
}

// ReadPinState reads a file of the batch job's clean table pin: pins with
// their origins (a file without them is an error).
func ReadPinState(r parquet.ReaderAtSeeker) ([]clean.Pin, []Origin, error) {
	rows, _, org, err := readPins(r, memory.DefaultAllocator, nil)
	return rows, org, withOrigins("pin", org, err)
}

// ReadPinStateColumns reads only the columns named of a file of the batch
// job's clean table pin (as ReadPinColumns), and the origins of its rows:
// their objects only when columns names ColOriginObject ("" otherwise; the
// object key is most of the origins' size, and decides only between two
// origins of the same line: Origin.SameLine).
func ReadPinStateColumns(r parquet.ReaderAtSeeker, columns []string) ([]clean.Pin, []Origin, error) {
	rows, _, org, err := readPins(r, memory.DefaultAllocator, append(slices.Clip(columns), ColOriginPartition, ColOriginOffset))
	return rows, org, withOrigins("pin", org, err)
}

func readPins(r parquet.ReaderAtSeeker, mem memory.Allocator, only []string) ([]clean.Pin, []Source, []Origin, error) {
	var (
		rows []clean.Pin
		src  []Source
		org  []Origin
	)
	x, err := readRecords(r, mem, "pin", PinSchema, only, func(rec arrow.RecordBatch, x extra) error {
		if rows == nil {
			rows = make([]clean.Pin, 0, x.rows)
			if x.origins {
				org = make([]Origin, 0, x.rows)
			}
		}
		ind := rec.Column(0).(*array.Int64)
		uid := newStrCol(rec.Column(1))
		title := newStrCol(rec.Column(2))
		desc := newStrCol(rec.Column(3))
		fc := rec.Column(4).(*array.Int64)
		poster := newStrCol(rec.Column(5))
		tags := newStrCol(rec.Column(6))
		kind := newStrCol(rec.Column(7))
		img := newStrCol(rec.Column(8))
		save := newStrCol(rec.Column(9))
		cat := newStrCol(rec.Column(10))
		for i := range int(rec.NumRows()) {
			id, err := requireInd(ind, i, "pin")
			if err != nil {
				return err
			}
			rows = append(rows, clean.Pin{
				Ind:            id,
				UniqueID:       uid.value(i),
				Title:          title.get(i),
				Description:    desc.get(i),
				FollowerCount:  getInt64(fc, i),
				PosterName:     poster.get(i),
				TagList:        tags.get(i),
				IsImageOrVideo: kind.get(i),
				ImageSrc:       img.get(i),
				SaveLocation:   save.get(i),
				Category:       cat.get(i),
			})
		}
		if x.sources {
			src = getSources(rec, pinCols, src)
		}
		if x.origins {
			org = getOrigins(rec, pinCols, org)
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading pins: %w", err)
	}
	if x.sources && src == nil {
		src = []Source{}
	}
	if x.origins && org == nil {
		org = []Origin{}
	}
	return rows, src, org, nil
}

// ReadGeos reads a geo file written by WriteGeos (or any file with the
// columns of GeoSchema). The sources are nil when the file has no source columns.
func ReadGeos(r parquet.ReaderAtSeeker) ([]clean.Geo, []Source, error) {
	rows, src, _, err := readGeos(r, memory.DefaultAllocator, nil)
	return rows, src, err
}

// ReadGeoColumns reads only the columns named of a geo file (of
// GeoSchema's, ind among them): the other fields of the rows are null.
func ReadGeoColumns(r parquet.ReaderAtSeeker, columns []string) ([]clean.Geo, error) {
	rows, _, _, err := readGeos(r, memory.DefaultAllocator, columns)
	return rows, err
}

// ReadGeoState reads a file of the batch job's clean table geo: geos with
// their origins (a file without them is an error).
func ReadGeoState(r parquet.ReaderAtSeeker) ([]clean.Geo, []Origin, error) {
	rows, _, org, err := readGeos(r, memory.DefaultAllocator, nil)
	return rows, org, withOrigins("geo", org, err)
}

// ReadGeoStateColumns reads only the columns named of a file of the batch
// job's clean table geo (as ReadGeoColumns), and the origins of its rows:
// their objects only when columns names ColOriginObject ("" otherwise; the
// object key is most of the origins' size, and decides only between two
// origins of the same line: Origin.SameLine).
func ReadGeoStateColumns(r parquet.ReaderAtSeeker, columns []string) ([]clean.Geo, []Origin, error) {
	rows, _, org, err := readGeos(r, memory.DefaultAllocator, append(slices.Clip(columns), ColOriginPartition, ColOriginOffset))
	return rows, org, withOrigins("geo", org, err)
}

func readGeos(r parquet.ReaderAtSeeker, mem memory.Allocator, only []string) ([]clean.Geo, []Source, []Origin, error) {
	var (
		rows []clean.Geo
		src  []Source
		org  []Origin
	)
	x, err := readRecords(r, mem, "geo", GeoSchema, only, func(rec arrow.RecordBatch, x extra) error {
		if rows == nil {
			rows = make([]clean.Geo, 0, x.rows)
			if x.origins {
				org = make([]Origin, 0, x.rows)
			}
		}
		ind := rec.Column(0).(*array.Int64)
		country := newStrCol(rec.Column(1))
		coords := rec.Column(2).(*array.List)
		ts := rec.Column(3).(*array.Timestamp)
		for i := range int(rec.NumRows()) {
			id, err := requireInd(ind, i, "geo")
			if err != nil {
				return err
			}
			c, err := getCoords(coords, i)
			if err != nil {
				return fmt.Errorf("geo ind %d: %w", id, err)
			}
			rows = append(rows, clean.Geo{Ind: id, Country: country.get(i), Coordinates: c, Timestamp: getTime(ts, i)})
		}
		if x.sources {
			src = getSources(rec, geoCols, src)
		}
		if x.origins {
			org = getOrigins(rec, geoCols, org)
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading geos: %w", err)
	}
	if x.sources && src == nil {
		src = []Source{}
	}
	if x.origins && org == nil {
		org = []Origin{}
	}
	return rows, src, org, nil
}

// ReadUsers reads a user file written by WriteUsers (or any file with the
// columns of UserSchema). The sources are nil when the file has no source columns.
func ReadUsers(r parquet.ReaderAtSeeker) ([]clean.User, []Source, error) {
	rows, src, _, err := readUsers(r, memory.DefaultAllocator, nil)
	return rows, src, err
}

// ReadUserColumns reads only the columns named of a user file (of
// UserSchema's, ind among them): the other fields of the rows are null.
func ReadUserColumns(r parquet.ReaderAtSeeker, columns []string) ([]clean.User, error) {
	rows, _, _, err := readUsers(r, memory.DefaultAllocator, columns)
	return rows, err
}

// ReadUserState reads a file of the batch job's clean table user: users with
// their origins (a file without them is an error).
func ReadUserState(r parquet.ReaderAtSeeker) ([]clean.User, []Origin, error) {
	rows, _, org, err := readUsers(r, memory.DefaultAllocator, nil)
	return rows, org, withOrigins("user", org, err)
}

// ReadUserStateColumns reads only the columns named of a file of the batch
// job's clean table user (as ReadUserColumns), and the origins of its rows:
// their objects only when columns names ColOriginObject ("" otherwise; the
// object key is most of the origins' size, and decides only between two
// origins of the same line: Origin.SameLine).
func ReadUserStateColumns(r parquet.ReaderAtSeeker, columns []string) ([]clean.User, []Origin, error) {
	rows, _, org, err := readUsers(r, memory.DefaultAllocator, append(slices.Clip(columns), ColOriginPartition, ColOriginOffset))
	return rows, org, withOrigins("user", org, err)
}

func readUsers(r parquet.ReaderAtSeeker, mem memory.Allocator, only []string) ([]clean.User, []Source, []Origin, error) {
	var (
		rows []clean.User
		src  []Source
		org  []Origin
	)
	x, err := readRecords(r, mem, "user", UserSchema, only, func(rec arrow.RecordBatch, x extra) error {
		if rows == nil {
			rows = make([]clean.User, 0, x.rows)
			if x.origins {
				org = make([]Origin, 0, x.rows)
			}
		}
		ind := rec.Column(0).(*array.Int64)
		name := newStrCol(rec.Column(1))
		age := rec.Column(2).(*array.Int32)
		joined := rec.Column(3).(*array.Timestamp)
		for i := range int(rec.NumRows()) {
			id, err := requireInd(ind, i, "user")
			if err != nil {
				return err
			}
			rows = append(rows, clean.User{Ind: id, UserName: name.get(i), Age: getInt32(age, i), DateJoined: getTime(joined, i)})
		}
		if x.sources {
			src = getSources(rec, userCols, src)
		}
		if x.origins {
			org = getOrigins(rec, userCols, org)
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading users: %w", err)
	}
	if x.sources && src == nil {
		src = []Source{}
	}
	if x.origins && org == nil {
		org = []Origin{}
	}
	return rows, src, org, nil
}
