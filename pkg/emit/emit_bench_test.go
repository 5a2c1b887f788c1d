package emit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/pkg/emit"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// benchRun sends b.N rows (3 records each) from src to tg and reports
// records/s. Run with e.g. -benchtime=100000x.
func benchRun(b *testing.B, src emit.Source, tg emit.Target, o emit.Options) {
	b.Helper()
	o.Count = b.N
	e, err := emit.New(src, []emit.Target{tg}, o)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if err := e.Run(b.Context()); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	s := e.Stats()
	if s.Sent() != int64(3*b.N) {
		b.Fatalf("sent %d of %d", s.Sent(), 3*b.N)
	}
	b.ReportMetric(float64(s.Sent())/el.Seconds(), "records/s")
}

// BenchmarkMySQLToKafka: the 11,000 sample rows in MariaDB, random order,
// to an in-process Kafka-protocol broker on loopback.
func BenchmarkMySQLToKafka(b *testing.B) {
	dsn := mysqlDSN(b)
	brokers := startKafka(b)
	ctx := b.Context()
	db := openDB(b, dsn)
	tables := sample.WithSuffix("bench")
	src, err := emit.OpenMySQL(ctx, dsn, tables)
	if err != nil || src.Len() != emit.SampleRows {
		if err := sample.CreateTables(ctx, db, tables); err != nil {
			b.Fatal(err)
		}
		if err := sample.Load(ctx, db, tables, sample.New(1), emit.SampleRows, nil); err != nil {
			b.Fatal(err)
		}
		if src, err = emit.OpenMySQL(ctx, dsn, tables); err != nil {
			b.Fatal(err)
		}
	}
	defer src.Close()
	for _, order := range []emit.Order{emit.OrderRandom, emit.OrderSequential} {
		b.Run(order.String(), func(b *testing.B) {
			tg := openSink(b, "kafka://"+strings.Join(brokers, ","), prefix(b), true)
			benchRun(b, src, tg, emit.Options{Order: order, BatchRows: 1000})
		})
	}
}

// BenchmarkSampleToKinesis: the sample source to kinesalite (one shard per
// stream; kinesalite bounds this target).
func BenchmarkSampleToKinesis(b *testing.B) {
	startKinesis(b)
	src, _ := emit.NewSampleSource(1, emit.SampleRows)
	tg := openSink(b, "kinesis://", prefix(b), true)
	benchRun(b, src, tg, emit.Options{BatchRows: 500})
}

// BenchmarkSampleToRestProxy: the sample source to an HTTP server that
// accepts every REST Proxy request.
func BenchmarkSampleToRestProxy(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		for {
			if _, err := r.Body.Read(buf); err != nil {
				break
			}
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	src, _ := emit.NewSampleSource(1, emit.SampleRows)
	tg, err := emit.OpenSink(context.Background(), srv.URL+"/topics/", emit.SinkOptions{Prefix: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	benchRun(b, src, tg, emit.Options{BatchRows: 1000})
}

// BenchmarkMySQLFetch: the MySQL source alone, random rows in batches of 1000.
func BenchmarkMySQLFetch(b *testing.B) {
	dsn := mysqlDSN(b)
	src, err := emit.OpenMySQL(b.Context(), dsn, sample.WithSuffix("bench"))
	if err != nil {
		b.Skip("run BenchmarkMySQLToKafka first to seed the bench tables")
	}
	defer src.Close()
	nums := sample.Posts(1, src.Len(), 1000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := src.Fetch(b.Context(), nums); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(3000*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkSampleToKafka: the sample source to an in-process broker.
func BenchmarkSampleToKafka(b *testing.B) {
	brokers := startKafka(b)
	src, _ := emit.NewSampleSource(1, emit.SampleRows)
	tg := openSink(b, "kafka://"+strings.Join(brokers, ","), prefix(b), true)
	benchRun(b, src, tg, emit.Options{BatchRows: 1000})
}
