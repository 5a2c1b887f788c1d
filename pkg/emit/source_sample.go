package emit

import (
	"context"
	"errors"
	"strconv"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// SampleRows is the default number of rows of the sample source, as many as
// the original's tables.
const SampleRows = 11000

// SampleSource serves the rows of the deterministic sample generator
// (pkg/sample): the records the MySQL source sends for a database loaded by
// "emit seed-db" with the same seed and row count, without a database.
type SampleSource struct {
	gen  *sample.Generator
	rows int
}

// NewSampleSource returns the first rows rows of the generator of seed.
func NewSampleSource(seed int64, rows int) (*SampleSource, error) {
	if rows <= 0 {
		return nil, errors.New("sample source: rows must be positive")
	}
	return &SampleSource{gen: sample.New(seed), rows: rows}, nil
}

// Len is the number of rows.
func (s *SampleSource) Len() int { return s.rows }

// Fetch generates the rows with the given numbers.
func (s *SampleSource) Fetch(ctx context.Context, nums []int) ([]Row, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows := make([]Row, len(nums))
	for j, n := range nums {
		r := s.gen.Row(n)
		rows[j] = Row{Num: n, Records: []Record{
			{Table: clean.TablePin, Key: strconv.Itoa(r.Pin.Index), Value: r.PinJSON()},
			{Table: clean.TableGeo, Key: strconv.Itoa(r.Geo.Ind), Value: r.GeoJSON()},
			{Table: clean.TableUser, Key: strconv.Itoa(r.User.Ind), Value: r.UserJSON()},
		}}
	}
	return rows, nil
}
