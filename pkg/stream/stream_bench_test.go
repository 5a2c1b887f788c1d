package stream

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/streamtest"
	"github.com/pinpipe/pinpipe/internal/tabletest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/sample"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// BenchmarkCleanWrite measures the CPU path of a flush from an in-memory
// source: clean each record and encode the Parquet files of its rows (with
// and without source columns) and rejects, 10,000 records per flush; and
// for pin, the same records in KPL-aggregated records of 100 (unpacked, the
// digest checked). Run with -cpu 1 for a per-core figure.
func BenchmarkCleanWrite(b *testing.B) {
	parquetio.UseFastSnappy() // as cmd/streamjob
	const n = 10000
	g := sample.New(1)
	now := time.Now()
	const seq = "49590338271490256608559692538361571095921575989136580000"
	for _, table := range clean.Tables {
		recs := make([]kinesisx.Record, n)
		for i := range recs {
			pin, geo, user := g.DirtyRecords(i)
			d := map[clean.Table][]byte{clean.TablePin: pin, clean.TableGeo: geo, clean.TableUser: user}[table]
			recs[i] = kinesisx.Record{Sequence: seq, Arrival: now, Data: d}
		}
		for _, withSrc := range []bool{true, false} {
			name := string(table)
			if !withSrc {
				name += "/no-source-columns"
			}
			b.Run(name, func(b *testing.B) { cleanWrite(b, table, recs, n, withSrc) })
		}
		if table == clean.TablePin {
			var agg []kinesisx.Record
			var a kinesisx.Aggregator
			for i, r := range recs {
				a.Add(fmt.Sprint(i), r.Data)
				if a.Len() == 100 {
					agg = append(agg, kinesisx.Record{Sequence: seq, Arrival: now, Data: a.Bytes()})
					a.Reset()
				}
			}
			b.Run("pin/kpl-aggregated-100", func(b *testing.B) { cleanWrite(b, table, agg, n, true) })
		}
	}
}

// cleanWrite adds recs (n user records) to a batch of table and writes its
// files, b.N times.
func cleanWrite(b *testing.B, table clean.Table, recs []kinesisx.Record, n int, withSrc bool) {
	bt := newBatch(table)
	var bytes int64
	cpu0 := cpuTime()
	for b.Loop() {
		for _, r := range recs {
			addKinesis(bt, "s", "shardId-000000000000", r, false)
		}
		for _, dt := range bt.dts() {
			cw := &countWriter{}
			if _, err := bt.writeRows(cw, dt, withSrc, parquetio.Options{Date: dt}); err != nil {
				b.Fatal(err)
			}
			bytes += cw.n
		}
		for _, dt := range bt.rejectDTs() {
			if _, err := bt.writeRejects(io.Discard, dt, parquetio.Options{Date: dt}); err != nil {
				b.Fatal(err)
			}
		}
		bt.reset()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(n*b.N)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
	b.ReportMetric(float64(bytes)/float64(n*b.N), "parquet-bytes/record")
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
// committed to the Iceberg tables of a SQLite catalog with a warehouse in a
// local directory.
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
		cat := tabletest.OpenSQLite(b, b.TempDir())
		job, err := New(api, Options{Streams: map[clean.Table]string{clean.TablePin: s}, Tables: cat, FlushRecords: 10000,
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

// BenchmarkLatency puts records one pair at a time (about 200 records/s per
// stream) into three streams of two shards, pin, geo and user, while the
// job runs with a 1s flush interval and a 1s commit interval (the default):
// its three stream tables (and the quarantine) commit every second; and
// again with a 250ms commit interval. It reports the p50/p99/max time from
// a row's arrival in Kinesis (ApproximateArrivalTimestamp, its source
// column) to the commit of the snapshot that made it visible: the
// timestamp-ms of the snapshot that added its file, found from the file's
// manifest entry.
func BenchmarkLatency(b *testing.B) {
	for _, every := range []time.Duration{time.Second, 250 * time.Millisecond} {
		b.Run(fmt.Sprint("commit=", every), func(b *testing.B) { latency(b, every) })
	}
}

func latency(b *testing.B, commitInterval time.Duration) {
	parquetio.UseFastSnappy() // as cmd/streamjob
	env := devstack.Require(b, devstack.Kinesis)
	api := streamtest.KinesisClient(env, env.KinesisEndpoint)
	name := streamtest.UniqueName("bench-")
	streams := map[clean.Table]string{}
	for _, t := range clean.Tables {
		streams[t] = landing.Stream(name, t)
		streamtest.CreateStream(b, api, streams[t], 2)
	}
	cat := tabletest.OpenSQLite(b, b.TempDir())
	job, err := New(api, Options{Streams: streams, Tables: cat, FlushRecords: 100000, FlushInterval: time.Second,
		CommitInterval: commitInterval, SourceColumns: true, Start: kinesisx.Position{Type: kinesisx.TrimHorizon}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- job.Run(ctx) }()
	const n = 2000
	g := sample.New(8)
	recs := map[clean.Table][][]byte{clean.TablePin: streamtest.PinRecords(8, 0, n)}
	for i := range n {
		_, geo, user := g.DirtyRecords(i)
		recs[clean.TableGeo] = append(recs[clean.TableGeo], geo)
		recs[clean.TableUser] = append(recs[clean.TableUser], user)
	}
	var mu sync.Mutex
	var puts int64
	for b.Loop() {
		var wg sync.WaitGroup
		for _, t := range clean.Tables {
			wg.Go(func() {
				for i := 0; i < n; i += 2 {
					p := streamtest.PutAll(b, api, streams[t], recs[t][i:i+2])
					mu.Lock()
					puts += int64(len(p))
					mu.Unlock()
					time.Sleep(10 * time.Millisecond)
				}
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	deadline := time.Now().Add(30 * time.Second)
	for st := job.Stats(); st.RowsOut+st.Rejected+st.Blank < puts && time.Now().Before(deadline); st = job.Stats() {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	var lat []float64
	for _, t := range clean.Tables {
		lat = append(lat, visibleAfter(b, cat, t)...)
	}
	if len(lat) == 0 {
		b.Fatal("no rows committed")
	}
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-s")
	b.ReportMetric(lat[len(lat)*99/100], "p99-s")
	b.ReportMetric(lat[len(lat)-1], "max-s")
	b.ReportMetric(float64(len(lat)), "rows")
}

// visibleAfter returns, for each row of stream table t, the seconds from its
// arrival in Kinesis to the commit of the snapshot that added its file (the
// snapshot's timestamp-ms, taken by iceberg-go just before it writes the
// table's metadata and asks the catalog to swap it in).
func visibleAfter(b *testing.B, cat *tables.Catalog, t clean.Table) []float64 {
	ctx := context.Background()
	def := tables.StreamDef(t, true)
	tbl, err := cat.Ensure(ctx, def)
	if err != nil {
		b.Fatal(err)
	}
	it := tbl.Iceberg()
	snap := it.CurrentSnapshot()
	if snap == nil {
		return nil
	}
	fs, err := it.FS(ctx)
	if err != nil {
		b.Fatal(err)
	}
	manifests, err := snap.Manifests(fs)
	if err != nil {
		b.Fatal(err)
	}
	var lat []float64
	for _, m := range manifests {
		if m.ManifestContent() != iceberg.ManifestContentData {
			continue
		}
		entries, err := m.FetchEntries(fs, true)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range entries {
			added := it.Metadata().SnapshotByID(e.SnapshotID())
			if added == nil {
				b.Fatalf("%s: file %s was added by snapshot %d, which the table no longer has", def.Name, e.DataFile().FilePath(), e.SnapshotID())
			}
			committed := time.UnixMilli(added.TimestampMs)
			data, err := cat.ReadFile(ctx, e.DataFile().FilePath())
			if err != nil {
				b.Fatal(err)
			}
			var src []parquetio.Source
			r := bytes.NewReader(data)
			switch t {
			case clean.TablePin:
				_, src, err = parquetio.ReadPins(r)
			case clean.TableGeo:
				_, src, err = parquetio.ReadGeos(r)
			default:
				_, src, err = parquetio.ReadUsers(r)
			}
			if err != nil {
				b.Fatalf("%s: %v", e.DataFile().FilePath(), err)
			}
			for _, sr := range src {
				lat = append(lat, committed.Sub(time.UnixMicro(sr.ArrivalMicros)).Seconds())
			}
		}
	}
	return lat
}
