package tables

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

// smallPinFile is the bytes of a data file of three pins of partition date.
func smallPinFile(b *testing.B, date string) []byte {
	var buf bytes.Buffer
	if err := parquetio.WritePins(&buf, pins(0, 3), nil, parquetio.Options{Date: date}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// newFile stores data as a new file of tbl (untimed work of a benchmark).
func newFile(b *testing.B, tbl *Table, date, name string, data []byte) File {
	f, err := tbl.WriteFile(context.Background(), tbl.FileLocation(date, name), date, 3, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkCommits makes 10,000 commits to one table, more than a day of
// 10-second commits (8,640), each adding a small file and setting a
// property, with the maintenance of a running stream job and its defaults
// every 600 commits (every 10 minutes at one commit a second: snapshots
// beyond the 1,000 most recent expire). It reports the commit latency and
// the size of the table's metadata file in the first and the last thousand
// commits: both stay bounded.
func BenchmarkCommits(b *testing.B) {
	const commits, every = 10000, 600
	ctx := context.Background()
	for b.Loop() {
		dir := b.TempDir()
		c, err := Open(ctx, Config{Catalog: "sqlite://" + dir + "/catalog.db", Warehouse: dir + "/wh"})
		if err != nil {
			b.Fatal(err)
		}
		tbl, err := c.Ensure(ctx, StreamDef(clean.TablePin, false))
		if err != nil {
			b.Fatal(err)
		}
		data := smallPinFile(b, "2026-12-01")
		lat := make([]time.Duration, commits)
		meta := make([]int64, commits)
		for i := range commits {
			b.StopTimer()
			f := newFile(b, tbl, "2026-12-01", fmt.Sprintf("f%05d.parquet", i), data)
			if i > 0 && i%every == 0 {
				if _, err := tbl.Maintain(ctx, Maintenance{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			t0 := time.Now()
			if err := tbl.Commit(ctx, Change{Add: []File{f}, Properties: iceberg.Properties{"pinpipe.stream.positions": fmt.Sprintf(`{"s":{"shard":{"after":"%056d"}}}`, i)}}); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(t0)
			b.StopTimer()
			st, err := os.Stat(strings.TrimPrefix(tbl.Iceberg().MetadataLocation(), "file://"))
			if err != nil {
				b.Fatal(err)
			}
			meta[i] = st.Size()
			b.StartTimer()
		}
		first, last := lat[:1000], lat[commits-1000:]
		b.ReportMetric(percentile(first, 0.5).Seconds()*1000, "p50-ms-first-1000")
		b.ReportMetric(percentile(first, 0.99).Seconds()*1000, "p99-ms-first-1000")
		b.ReportMetric(percentile(last, 0.5).Seconds()*1000, "p50-ms-last-1000")
		b.ReportMetric(percentile(last, 0.99).Seconds()*1000, "p99-ms-last-1000")
		b.ReportMetric(float64(slices.Max(meta[:1000]))/1024, "metadata-KiB-max-first-1000")
		b.ReportMetric(float64(slices.Max(meta[commits-1000:]))/1024, "metadata-KiB-max-last-1000")
		fs, err := tbl.Iceberg().FS(ctx)
		if err != nil {
			b.Fatal(err)
		}
		manifests, err := tbl.Iceberg().CurrentSnapshot().Manifests(fs)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(manifests)), "manifests-at-end")
		b.ReportMetric(float64(len(tbl.Iceberg().Metadata().Snapshots())), "snapshots-at-end")
		c.Close()
	}
}

// BenchmarkCommitLatency commits to three tables at once, each once a second
// (the stream job's three stream tables with --commit-interval 1s), for 60
// commits each, and reports the latency of a commit.
func BenchmarkCommitLatency(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		dir := b.TempDir()
		c, err := Open(ctx, Config{Catalog: "sqlite://" + dir + "/catalog.db", Warehouse: dir + "/wh"})
		if err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		for _, t := range clean.Tables {
			tbl, err := c.Ensure(ctx, StreamDef(t, false))
			if err != nil {
				b.Fatal(err)
			}
			data := smallPinFile(b, "2026-12-01")
			if t != clean.TablePin {
				data = nil
			}
			wg.Go(func() {
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for i := range 60 {
					<-tick.C
					var add []File
					if data != nil {
						add = append(add, newFile(b, tbl, "2026-12-01", fmt.Sprintf("f%05d.parquet", i), data))
					}
					t0 := time.Now()
					if err := tbl.Commit(ctx, Change{Add: add, Properties: iceberg.Properties{"p": fmt.Sprint(i)}}); err != nil {
						b.Error(err)
						return
					}
					d := time.Since(t0)
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		b.ReportMetric(percentile(lat, 0.5).Seconds()*1000, "p50-ms")
		b.ReportMetric(percentile(lat, 0.99).Seconds()*1000, "p99-ms")
		b.ReportMetric(slices.Max(lat).Seconds()*1000, "max-ms")
		c.Close()
	}
}
