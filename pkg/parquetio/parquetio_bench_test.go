package parquetio

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

const benchRows = 100_000

func benchPins(n int) []clean.Pin {
	cats := []string{"art", "beauty", "diy-and-crafts", "travel", "tattoos", "quotes"}
	rows := make([]clean.Pin, n)
	for i := range rows {
		rows[i] = clean.Pin{
			Ind: int64(i), UniqueID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i*7919),
			Title:          str(fmt.Sprintf("Title number %d of a pin", i)),
			Description:    str("A fairly long description of the pin, as the source has them, with words."),
			FollowerCount:  clean.Int64{V: int64(i % 50000), Valid: i%10 != 0},
			PosterName:     str(fmt.Sprintf("poster %d", i%5000)),
			TagList:        str("tag one,tag two,tag three"),
			IsImageOrVideo: str("image"),
			ImageSrc:       str(fmt.Sprintf("https://i.pinimg.com/originals/%x.jpg", i)),
			SaveLocation:   str("/data/" + cats[i%len(cats)]),
			Category:       str(cats[i%len(cats)]),
		}
	}
	return rows
}

func benchGeos(n int) []clean.Geo {
	countries := []string{"Chile", "Togo", "Côte d'Ivoire", "Albania", "Maldives"}
	rows := make([]clean.Geo, n)
	for i := range rows {
		rows[i] = clean.Geo{
			Ind:         int64(i),
			Country:     str(countries[i%len(countries)]),
			Coordinates: clean.Coords{Lat: float64(i%180) - 90 + 0.123, Lon: float64(i%360) - 180 + 0.456, Valid: i%20 != 0},
			Timestamp:   clean.Time{Micros: 1_500_000_000_000_000 + int64(i)*1_000_003, Valid: true},
		}
	}
	return rows
}

func benchUsers(n int) []clean.User {
	rows := make([]clean.User, n)
	for i := range rows {
		rows[i] = clean.User{
			Ind:        int64(i),
			UserName:   str(fmt.Sprintf("First%d Last%d", i%3000, i%7000)),
			Age:        clean.Int32{V: int32(i % 90), Valid: true},
			DateJoined: clean.Time{Micros: 1_420_000_000_000_000 + int64(i)*999_983, Valid: true},
		}
	}
	return rows
}

// benchWrite runs write b.N times and reports rows/s and the file size.
func benchWrite(b *testing.B, n int, write func(io.Writer) error) {
	UseFastSnappy() // as the binaries
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		b.Fatal(err)
	}
	size := buf.Len()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := write(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(size), "file_bytes")
}

func BenchmarkWritePins(b *testing.B) {
	rows := benchPins(benchRows)
	benchWrite(b, benchRows, func(w io.Writer) error { return WritePins(w, rows, nil, Options{}) })
}

func BenchmarkWriteGeos(b *testing.B) {
	rows := benchGeos(benchRows)
	benchWrite(b, benchRows, func(w io.Writer) error { return WriteGeos(w, rows, nil, Options{}) })
}

func BenchmarkWriteUsers(b *testing.B) {
	rows := benchUsers(benchRows)
	benchWrite(b, benchRows, func(w io.Writer) error { return WriteUsers(w, rows, nil, Options{}) })
}

func BenchmarkWritePinsZstdWithSource(b *testing.B) {
	rows, src := benchPins(benchRows), testSources(benchRows)
	opts := Options{Compression: compress.Codecs.Zstd}
	benchWrite(b, benchRows, func(w io.Writer) error { return WritePins(w, rows, src, opts) })
}

func BenchmarkReadPins(b *testing.B) {
	UseFastSnappy() // as the binaries
	var buf bytes.Buffer
	if err := WritePins(&buf, benchPins(benchRows), nil, Options{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := ReadPins(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// benchOrigins are origins as a --full run's rows sorted by ind have them:
// spread over the objects of 3 partitions, offsets in no order, the rows of
// an object sharing its key (as the batch job's do).
func benchOrigins(n int) []Origin {
	keys := map[string]string{}
	org := make([]Origin, n)
	for i := range org {
		p, o := int32(i%3), int64((i*7919)%n)
		key := fmt.Sprintf("topics/124a514b9149.geo/partition=%d/124a514b9149.geo+%d+%010d.json", p, p, o/10_000*10_000)
		if k, ok := keys[key]; ok {
			key = k
		} else {
			keys[key] = key
		}
		org[i] = Origin{Partition: p, Offset: o, Object: key}
	}
	return org
}

// BenchmarkWriteGeosWithOrigins: the clean table geo as the batch job's
// state writes it; against BenchmarkWriteGeos, the origin columns' cost.
func BenchmarkWriteGeosWithOrigins(b *testing.B) {
	rows, org := benchGeos(benchRows), benchOrigins(benchRows)
	benchWrite(b, benchRows, func(w io.Writer) error { return WriteGeos(w, rows, nil, Options{Origins: org}) })
}
