package parquetio

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/pinpipe/pinpipe/pkg/clean"
)

// Columns written without a dictionary: unique, or nearly, per row.
var (
	sourcePlain = []string{ColSequence}
	pinPlain    = []string{"unique_id", "title", "description", "image_src", ColSequence}
)

// checkSources reports whether src is nil or has one Source per row.
func checkSources(what string, rows int, src []Source) error {
	if src != nil && len(src) != rows {
		return fmt.Errorf("writing %s: %d sources for %d rows, want one per row or nil", what, len(src), rows)
	}
	return nil
}

func putStr(b *array.StringBuilder, s clean.Str) {
	if s.Valid {
		b.Append(s.V)
	} else {
		b.AppendNull()
	}
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
func putSources(b *array.RecordBuilder, first int, src []Source) {
	shard := b.Field(first).(*array.StringBuilder)
	seq := b.Field(first + 1).(*array.StringBuilder)
	arrival := b.Field(first + 2).(*array.TimestampBuilder)
	var shardSize, seqSize int
	for _, s := range src {
		shardSize += len(s.Shard)
		seqSize += len(s.Sequence)
	}
	shard.ReserveData(shardSize)
	seq.ReserveData(seqSize)
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
	err := writeChunked(w, PinSchema(src != nil), len(rows), opts, pinPlain, func(b *array.RecordBuilder, lo, hi int) {
		ind := b.Field(0).(*array.Int64Builder)
		uid := b.Field(1).(*array.StringBuilder)
		title := b.Field(2).(*array.StringBuilder)
		desc := b.Field(3).(*array.StringBuilder)
		fc := b.Field(4).(*array.Int64Builder)
		poster := b.Field(5).(*array.StringBuilder)
		tags := b.Field(6).(*array.StringBuilder)
		kind := b.Field(7).(*array.StringBuilder)
		img := b.Field(8).(*array.StringBuilder)
		save := b.Field(9).(*array.StringBuilder)
		cat := b.Field(10).(*array.StringBuilder)
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
			if n > 0 {
				b.Field(col).(*array.StringBuilder).ReserveData(n)
			}
		}
		for i := lo; i < hi; i++ {
			p := &rows[i]
			ind.Append(p.Ind)
			uid.Append(p.UniqueID)
			putStr(title, p.Title)
			putStr(desc, p.Description)
			putInt64(fc, p.FollowerCount)
			putStr(poster, p.PosterName)
			putStr(tags, p.TagList)
			putStr(kind, p.IsImageOrVideo)
			putStr(img, p.ImageSrc)
			putStr(save, p.SaveLocation)
			putStr(cat, p.Category)
		}
		if src != nil {
			putSources(b, pinCols, src[lo:hi])
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
	err := writeChunked(w, GeoSchema(src != nil), len(rows), opts, sourcePlain, func(b *array.RecordBuilder, lo, hi int) {
		ind := b.Field(0).(*array.Int64Builder)
		country := b.Field(1).(*array.StringBuilder)
		coords := b.Field(2).(*array.ListBuilder)
		ts := b.Field(3).(*array.TimestampBuilder)
		coords.ValueBuilder().(*array.Float64Builder).Reserve(2 * (hi - lo))
		size := 0
		for i := lo; i < hi; i++ {
			size += len(rows[i].Country.V)
		}
		country.ReserveData(size)
		for i := lo; i < hi; i++ {
			g := &rows[i]
			ind.Append(g.Ind)
			putStr(country, g.Country)
			putCoords(coords, g.Coordinates)
			putTime(ts, g.Timestamp)
		}
		if src != nil {
			putSources(b, geoCols, src[lo:hi])
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
	err := writeChunked(w, UserSchema(src != nil), len(rows), opts, sourcePlain, func(b *array.RecordBuilder, lo, hi int) {
		ind := b.Field(0).(*array.Int64Builder)
		name := b.Field(1).(*array.StringBuilder)
		age := b.Field(2).(*array.Int32Builder)
		joined := b.Field(3).(*array.TimestampBuilder)
		size := 0
		for i := lo; i < hi; i++ {
			size += len(rows[i].UserName.V)
		}
		name.ReserveData(size)
		for i := lo; i < hi; i++ {
			u := &rows[i]
			ind.Append(u.Ind)
			putStr(name, u.UserName)
			putInt32(age, u.Age)
			putTime(joined, u.DateJoined)
		}
		if src != nil {
			putSources(b, userCols, src[lo:hi])
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
	return readPins(r, memory.DefaultAllocator)
}

func readPins(r parquet.ReaderAtSeeker, mem memory.Allocator) ([]clean.Pin, []Source, error) {
	var (
		rows []clean.Pin
		src  []Source
	)
	withSource, err := readRecords(r, mem, "pin", PinSchema, func(rec arrow.RecordBatch, hasSource bool) error {
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
		if hasSource {
			src = getSources(rec, pinCols, src)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading pins: %w", err)
	}
	if withSource && src == nil {
		src = []Source{}
	}
	return rows, src, nil
}

// ReadGeos reads a geo file written by WriteGeos (or any file with the
// columns of GeoSchema). The sources are nil when the file has no source columns.
func ReadGeos(r parquet.ReaderAtSeeker) ([]clean.Geo, []Source, error) {
	return readGeos(r, memory.DefaultAllocator)
}

func readGeos(r parquet.ReaderAtSeeker, mem memory.Allocator) ([]clean.Geo, []Source, error) {
	var (
		rows []clean.Geo
		src  []Source
	)
	withSource, err := readRecords(r, mem, "geo", GeoSchema, func(rec arrow.RecordBatch, hasSource bool) error {
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
		if hasSource {
			src = getSources(rec, geoCols, src)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading geos: %w", err)
	}
	if withSource && src == nil {
		src = []Source{}
	}
	return rows, src, nil
}

// ReadUsers reads a user file written by WriteUsers (or any file with the
// columns of UserSchema). The sources are nil when the file has no source columns.
func ReadUsers(r parquet.ReaderAtSeeker) ([]clean.User, []Source, error) {
	return readUsers(r, memory.DefaultAllocator)
}

func readUsers(r parquet.ReaderAtSeeker, mem memory.Allocator) ([]clean.User, []Source, error) {
	var (
		rows []clean.User
		src  []Source
	)
	withSource, err := readRecords(r, mem, "user", UserSchema, func(rec arrow.RecordBatch, hasSource bool) error {
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
		if hasSource {
			src = getSources(rec, userCols, src)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading users: %w", err)
	}
	if withSource && src == nil {
		src = []Source{}
	}
	return rows, src, nil
}
