package stream

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/streamtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// BenchmarkCleanWrite measures the CPU path of a flush from an in-memory
// source: clean each record and encode the Parquet file (with and without
// source columns), 10,000 records per flush. Run with -cpu 1 for a per-core figure.
func BenchmarkCleanWrite(b *testing.B) {
	parquetio.UseFastSnappy() // as cmd/streamjob
	const n = 10000
	g := sample.New(1)
	now := time.Now()
	for _, table := range clean.Tables {
		recs := make([]kinesisx.Record, n)
		for i := range recs {
			pin, geo, user := g.DirtyRecords(i)
			d := map[clean.Table][]byte{clean.TablePin: pin, clean.TableGeo: geo, clean.TableUser: user}[table]
			recs[i] = kinesisx.Record{Sequence: "4959033827149025660855969253836157109592157598913658" + strings.Repeat("0", 4), Arrival: now, Data: d}
		}
		for _, withSrc := range []bool{true, false} {
			name := string(table)
			if !withSrc {
				name += "/no-source-columns"
			}
			b.Run(name, func(b *testing.B) {
				bt := newBatch(table)
				var bytes int64
				cpu0 := cpuTime()
				for b.Loop() {
					for _, r := range recs {
						bt.add("s", "shardId-000000000000", r)
					}
					for _, dt := range bt.dts() {
						cw := &countWriter{}
						if _, err := bt.writeRows(cw, dt, withSrc, parquetio.Options{}); err != nil {
							b.Fatal(err)
						}
						bytes += cw.n
					}
					for _, dt := range bt.rejectDTs() {
						if _, err := bt.writeRejects(io.Discard, dt, parquetio.Options{}); err != nil {
							b.Fatal(err)
						}
					}
					bt.reset()
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
				b.ReportMetric(float64(n*b.N)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
				b.ReportMetric(float64(bytes)/float64(n*b.N), "parquet-bytes/record")
			})
		}
	}
}

// cpuTime is the user+system CPU time of the process so far: on a shared
// machine, records per CPU second is the per-core figure.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// BenchmarkEndToEnd puts 20,000 pin records into a 4-shard stream of the
// local Kinesis server, then runs the job from TRIM_HORIZON until all are
// stored as Parquet in a directory.
func BenchmarkEndToEnd(b *testing.B) {
	parquetio.UseFastSnappy() // as cmd/streamjob
	env := devstack.Require(b, devstack.Kinesis)
	api := streamtest.KinesisClient(env, env.KinesisEndpoint)
	const n = 20000
	s := landing.Stream(streamtest.UniqueName("bench-"), clean.TablePin)
	streamtest.CreateStream(b, api, s, 4)
	puts := streamtest.PutAll(b, api, s, streamtest.PinRecords(7, 0, n))
	rows, rejects := streamtest.Expected(puts)
	for b.Loop() {
		out, err := objstore.Open(b.Context(), b.TempDir(), objstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		job, err := New(api, Options{Streams: map[clean.Table]string{clean.TablePin: s}, Output: out, FlushRecords: 10000,
			FlushInterval: time.Second, SourceColumns: true})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- job.Run(ctx) }()
		for st := job.Stats(); st.RowsOut < int64(rows) || st.Rejected < int64(rejects); st = job.Stats() {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkLatency puts pin records one by one (about 200/s) while the job
// runs with a 1s flush interval, and reports the p50/p99 time from the
// record's arrival in Kinesis to its Parquet file being stored (file mtime).
func BenchmarkLatency(b *testing.B) {
	parquetio.UseFastSnappy() // as cmd/streamjob
	env := devstack.Require(b, devstack.Kinesis)
	api := streamtest.KinesisClient(env, env.KinesisEndpoint)
	s := landing.Stream(streamtest.UniqueName("bench-"), clean.TablePin)
	streamtest.CreateStream(b, api, s, 2)
	dir := b.TempDir()
	out, err := objstore.Open(b.Context(), dir, objstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	job, err := New(api, Options{Streams: map[clean.Table]string{clean.TablePin: s}, Output: out, FlushRecords: 100000,
		FlushInterval: time.Second, SourceColumns: true, Start: kinesisx.Position{Type: kinesisx.TrimHorizon}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- job.Run(ctx) }()
	var total atomic.Int64
	recs := streamtest.PinRecords(8, 0, 2000)
	b.ResetTimer()
	for b.Loop() {
		for i := 0; i < len(recs); i += 2 {
			total.Add(int64(len(streamtest.PutAll(b, api, s, recs[i:i+2]))))
			time.Sleep(10 * time.Millisecond)
		}
	}
	b.StopTimer()
	puts := total.Load()
	deadline := time.Now().Add(30 * time.Second)
	for st := job.Stats(); st.RowsOut+st.Rejected+st.Blank < puts && time.Now().Before(deadline); st = job.Stats() {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	var lat []float64
	_ = filepath.WalkDir(filepath.Join(dir, "pin"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, src, err := parquetio.ReadPins(f)
		if err != nil {
			return err
		}
		for _, sr := range src {
			lat = append(lat, fi.ModTime().Sub(time.UnixMicro(sr.ArrivalMicros)).Seconds())
		}
		return nil
	})
	if len(lat) == 0 {
		b.Fatal("no rows stored")
	}
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-s")
	b.ReportMetric(lat[len(lat)*99/100], "p99-s")
	b.ReportMetric(lat[len(lat)-1], "max-s")
}
