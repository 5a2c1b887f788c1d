package parquetio

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/pinpipe/pinpipe/pkg/clean"
)

// TestStrBuilder checks strBuilder against array.StringBuilder, with and
// without reserving, nulls or not, across two arrays of one builder.
func TestStrBuilder(t *testing.T) {
	vals := []clean.Str{str("a"), {}, str(""), str("Ünïcödé 🎨"), str(string(make([]byte, 300)))}
	tests := []struct {
		name    string
		rows    []clean.Str
		reserve bool
	}{
		{"empty", nil, false},
		{"no nulls", []clean.Str{str("x"), str(""), str("yz")}, false},
		{"only nulls", []clean.Str{{}, {}, {}}, true},
		{"only empty strings", []clean.Str{str(""), str("")}, true},
		{"mixed, growing", nil, false},
		{"mixed, reserved", nil, true},
	}
	for i := range 1000 {
		tests[4].rows = append(tests[4].rows, vals[i%len(vals)])
	}
	tests[5].rows = tests[4].rows
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &strBuilder{mem: mem}
			defer b.release()
			for round := range 2 {
				if tc.reserve {
					size := 0
					for _, s := range tc.rows {
						size += len(s.V)
					}
					b.Reserve(len(tc.rows))
					b.ReserveData(size)
				}
				want := array.NewStringBuilder(mem)
				for _, s := range tc.rows {
					b.put(s)
					if s.Valid {
						want.Append(s.V)
					} else {
						want.AppendNull()
					}
				}
				got, w := b.newArray(), want.NewArray()
				if !array.Equal(got, w) {
					t.Errorf("round %d: got %v, want %v", round, got, w)
				}
				got.Release()
				w.Release()
				want.Release()
			}
		})
	}
}

// TestDeterministic checks that the same rows give the same bytes.
func TestDeterministic(t *testing.T) {
	pins := make([]clean.Pin, 3000)
	for i := range pins {
		pins[i] = clean.Pin{Ind: int64(i), UniqueID: fmt.Sprint("u", i), Title: str(fmt.Sprint("t", i%7)),
			PosterName: str(fmt.Sprint("p", i%13)), Category: str(fmt.Sprint("c", i%5)), SaveLocation: clean.Str{V: "s", Valid: i%2 == 0}}
	}
	write := func() []byte {
		var buf bytes.Buffer
		if err := WritePins(&buf, pins, testSources(len(pins)), Options{RowGroupRows: 1000}); err != nil {
			t.Fatalf("WritePins: %v", err)
		}
		return buf.Bytes()
	}
	if a, b := write(), write(); !bytes.Equal(a, b) {
		t.Error("two writes of the same rows differ")
	}
}

// TestColumnChunks checks the encodings of each pin column, and that the
// statistics of a dictionary column keep an empty-string minimum.
func TestColumnChunks(t *testing.T) {
	pins := testPins()
	pins = append(pins, clean.Pin{Ind: 9, UniqueID: "v", PosterName: str("")})
	var buf bytes.Buffer
	if err := WritePins(&buf, pins, testSources(len(pins)), Options{}); err != nil {
		t.Fatalf("WritePins: %v", err)
	}
	for _, cc := range firstRowGroupChunks(t, buf.Bytes()) {
		name := cc.PathInSchema().String()
		dict := slices.Contains(cc.Encodings(), parquet.Encodings.RLEDict)
		if wantPlain := slices.Contains(pinEncodings.plain, name); dict == wantPlain {
			t.Errorf("%s: encodings %v, want dictionary %v", name, cc.Encodings(), !wantPlain)
		}
		stats, err := cc.Statistics()
		if err != nil || stats == nil {
			t.Fatalf("%s: no statistics (%v)", name, err)
		}
		if (name == "category" || name == "poster_name") && (!stats.HasMinMax() || len(stats.EncodeMin()) != 0) {
			t.Errorf("%s: min %q (has %v), want \"\"", name, stats.EncodeMin(), stats.HasMinMax())
		}
	}
}

// TestNoDictionaryFallback writes row groups whose every column has as many
// distinct values as rows, and checks that no column chunk mixes dictionary
// and plain data pages: arrow-go writes the encoding statistics of such a
// chunk in map order, so its files would differ from run to run.
func TestNoDictionaryFallback(t *testing.T) {
	const n = 150_000 // more distinct values than the default 1 MiB dictionary page holds
	pins := make([]clean.Pin, n)
	geos := make([]clean.Geo, n)
	users := make([]clean.User, n)
	for i := range n {
		s := str(fmt.Sprintf("value-%07d", i))
		pins[i] = clean.Pin{Ind: int64(i), UniqueID: s.V, Title: s, Description: s, FollowerCount: clean.Int64{V: int64(i) * 7, Valid: true},
			PosterName: s, TagList: s, IsImageOrVideo: s, ImageSrc: s, SaveLocation: s, Category: s}
		geos[i] = clean.Geo{Ind: int64(i), Country: s, Coordinates: clean.Coords{Lat: float64(i) / 1e4, Lon: -float64(i) / 1e4, Valid: true},
			Timestamp: clean.Time{Micros: int64(i) * 1e6, Valid: true}}
		users[i] = clean.User{Ind: int64(i), UserName: s, Age: clean.Int32{V: int32(i % 131), Valid: true}, DateJoined: clean.Time{Micros: int64(i), Valid: true}}
	}
	src := testSources(n)
	for name, write := range map[string]func(*bytes.Buffer) error{
		"pin":  func(b *bytes.Buffer) error { return WritePins(b, pins, src, Options{RowGroupRows: n}) },
		"geo":  func(b *bytes.Buffer) error { return WriteGeos(b, geos, src, Options{RowGroupRows: n}) },
		"user": func(b *bytes.Buffer) error { return WriteUsers(b, users, src, Options{RowGroupRows: n}) },
	} {
		var a, b bytes.Buffer
		if err := write(&a); err != nil {
			t.Fatal(err)
		}
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: two writes of the same rows differ", name)
		}
		for _, cc := range firstRowGroupChunks(t, a.Bytes()) {
			data := 0
			for _, st := range cc.EncodingStats() {
				if fmt.Sprint(st.PageType) != "DICTIONARY_PAGE" {
					data++
				}
			}
			if data > 1 {
				t.Errorf("%s.%s: data pages in %d encodings (%+v): a dictionary fell back to plain", name, cc.PathInSchema(), data, cc.EncodingStats())
			}
		}
	}
}

// firstRowGroupChunks returns the column chunks of the first row group of the
// Parquet file data.
func firstRowGroupChunks(t *testing.T, data []byte) []*metadata.ColumnChunkMetaData {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rg := pf.MetaData().RowGroup(0)
	var out []*metadata.ColumnChunkMetaData
	for c := range rg.NumColumns() {
		cc, err := rg.ColumnChunk(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cc)
	}
	return out
}
