package devstack_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/internal/devstack"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}

func TestS3RoundTrip(t *testing.T) {
	e := devstack.Require(t, devstack.S3)
	bucket := e.NewBucket(t)
	ctx := t.Context()

	// The process environment set by Require is enough for the standard
	// AWS configuration.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	tests := []struct{ key, body string }{
		{"pins/2024/01/a.json", `{"index":1}`},
		{"empty", ""},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &tc.key, Body: strings.NewReader(tc.body)}); err != nil {
				t.Fatalf("put: %v", err)
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &tc.key})
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			defer out.Body.Close()
			got, err := io.ReadAll(out.Body)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.body {
				t.Errorf("got %q, want %q", got, tc.body)
			}
		})
	}
	// The stack's own bucket exists too.
	if _, err := e.S3Client().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &e.S3Bucket}); err != nil {
		t.Errorf("head bucket %s: %v", e.S3Bucket, err)
	}
}

func TestKinesisRoundTrip(t *testing.T) {
	e := devstack.Require(t, devstack.Kinesis)
	ctx := t.Context()
	c := e.KinesisClient()
	stream := "devstack-test-" + time.Now().Format("150405.000000")
	stream = strings.ReplaceAll(stream, ".", "-")
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &stream, ShardCount: aws.Int32(1)}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	t.Cleanup(func() {
		_, _ = c.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: &stream})
	})
	w := kinesis.NewStreamExistsWaiter(c, func(o *kinesis.StreamExistsWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: &stream}, 30*time.Second); err != nil {
		t.Fatalf("waiting for stream: %v", err)
	}
	put, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: &stream, PartitionKey: aws.String("k"), Data: []byte("hello")})
	if err != nil {
		t.Fatalf("put record: %v", err)
	}
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: &stream, ShardId: put.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatalf("get shard iterator: %v", err)
	}
	recs, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatalf("get records: %v", err)
	}
	if len(recs.Records) != 1 || !bytes.Equal(recs.Records[0].Data, []byte("hello")) {
		t.Fatalf("got %d records, want one with data hello: %+v", len(recs.Records), recs.Records)
	}
}

func TestKafkaRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		brokers func(t *testing.T) []string
	}{
		{"stack", func(t *testing.T) []string { return devstack.Require(t, devstack.Kafka).KafkaBrokers }},
		{"isolated", func(t *testing.T) []string { return devstack.NewKafka(t) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			brokers := tc.brokers(t)
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			topic := "devstack-" + strings.ToLower(tc.name) + "-" + time.Now().Format("150405.000000000")
			w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, AllowAutoTopicCreation: true, BatchTimeout: 10 * time.Millisecond}
			defer w.Close()
			msg := kafka.Message{Key: []byte("k"), Value: []byte("v-" + tc.name)}
			var err error
			for range 20 { // the first write may race the topic creation
				if err = w.WriteMessages(ctx, msg); err == nil || !errors.Is(err, kafka.UnknownTopicOrPartition) && !errors.Is(err, kafka.LeaderNotAvailable) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("produce: %v", err)
			}
			// A short MaxWait keeps Close quick: it waits for the in-flight
			// long-poll fetch (default 10s) to return.
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, GroupID: topic + "-g", Topic: topic, StartOffset: kafka.FirstOffset, MaxWait: 500 * time.Millisecond})
			defer r.Close()
			got, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("consume: %v", err)
			}
			if string(got.Key) != "k" || string(got.Value) != string(msg.Value) {
				t.Errorf("got %s=%s, want k=%s", got.Key, got.Value, msg.Value)
			}
		})
	}
}

func TestMySQL(t *testing.T) {
	e := devstack.Require(t, devstack.MySQL)
	db, err := sql.Open("mysql", e.MySQLDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var one int
	if err := db.QueryRowContext(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}

// TestPostgres makes a round trip through a temporary table.
func TestPostgres(t *testing.T) {
	e := devstack.Require(t, devstack.Postgres)
	ctx := t.Context()
	db := openPostgres(t, e.PostgresURL)
	// A temporary table belongs to one connection: pin one.
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range []string{
		"CREATE TEMPORARY TABLE devstack_roundtrip (id int PRIMARY KEY, v text NOT NULL)",
		"INSERT INTO devstack_roundtrip VALUES (1, 'hello'), (2, 'world')",
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	var v string
	if err := conn.QueryRowContext(ctx, "SELECT v FROM devstack_roundtrip WHERE id = $1", 2).Scan(&v); err != nil || v != "world" {
		t.Fatalf("SELECT v WHERE id = 2: %q, %v; want world", v, err)
	}
	if _, err := conn.ExecContext(ctx, "DROP TABLE devstack_roundtrip"); err != nil {
		t.Fatalf("DROP TABLE: %v", err)
	}
}

// TestNewPostgresSchema gives one test two schemas and checks that each URL
// creates and finds unqualified names in its own schema only, the way
// iceberg-go's SQL catalog creates its tables (CREATE TABLE IF NOT EXISTS
// iceberg_tables) and finds them (information_schema, current_schema()).
func TestNewPostgresSchema(t *testing.T) {
	e := devstack.Require(t, devstack.Postgres)
	ctx := t.Context()
	urls := []string{e.NewPostgresSchema(t), e.NewPostgresSchema(t)}
	schemas := []string{searchPath(t, urls[0]), searchPath(t, urls[1])}
	if schemas[0] == schemas[1] {
		t.Fatalf("two calls gave the same schema %s", schemas[0])
	}
	for i, u := range urls {
		db := openPostgres(t, u)
		var cur string
		if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&cur); err != nil || cur != schemas[i] {
			t.Fatalf("current_schema() = %q, %v; want %s", cur, err, schemas[i])
		}
		for _, stmt := range []string{
			"CREATE TABLE IF NOT EXISTS iceberg_tables (catalog_name varchar(255) NOT NULL, table_namespace varchar(255) NOT NULL, " +
				"table_name varchar(255) NOT NULL, PRIMARY KEY (catalog_name, table_namespace, table_name))",
			"INSERT INTO iceberg_tables VALUES ('" + schemas[i] + "', 'ns', 't')",
		} {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	base := openPostgres(t, e.PostgresURL)
	for i, u := range urls {
		var where string
		err := base.QueryRowContext(ctx, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'iceberg_tables' AND table_schema = $1", schemas[i]).Scan(&where)
		if err != nil {
			t.Errorf("iceberg_tables not in schema %s: %v", schemas[i], err)
		}
		var rows []string
		r, err := openPostgres(t, u).QueryContext(ctx, "SELECT catalog_name FROM iceberg_tables")
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var c string
			if err := r.Scan(&c); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, c)
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0] != schemas[i] {
			t.Errorf("schema %s sees rows %q, want only its own", schemas[i], rows)
		}
	}
}

// TestNewPostgresSchemaCleanup checks that the schema, tables and all, is
// dropped after a test that passed and kept, with its name logged, after one
// that failed.
func TestNewPostgresSchemaCleanup(t *testing.T) {
	e := devstack.Require(t, devstack.Postgres)
	base := openPostgres(t, e.PostgresURL)
	tests := []struct {
		name     string
		failed   bool
		wantKept bool
	}{
		{"passed", false, false},
		{"failed", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			tb := &cleanupTB{TB: t, failed: tc.failed}
			u := e.NewPostgresSchema(tb)
			schema := searchPath(t, u)
			db := openPostgres(t, u)
			if _, err := db.ExecContext(ctx, "CREATE TABLE kept (id int)"); err != nil {
				t.Fatal(err)
			}
			db.Close()
			tb.runCleanups()

			var n int
			if err := base.QueryRowContext(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if kept := n == 1; kept != tc.wantKept {
				t.Errorf("schema %s kept = %v, want %v (logs %q)", schema, kept, tc.wantKept, tb.logs)
			}
			if logged := strings.Contains(strings.Join(tb.logs, "\n"), "keeping PostgreSQL schema "+schema); logged != tc.wantKept {
				t.Errorf("kept schema logged = %v, want %v (logs %q)", logged, tc.wantKept, tb.logs)
			}
			if n == 1 {
				if _, err := base.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// cleanupTB is a testing.TB whose cleanups run when the test calls
// runCleanups, and which reports failed to them and records their logs.
type cleanupTB struct {
	testing.TB
	failed   bool
	cleanups []func()
	logs     []string
}

func (c *cleanupTB) Cleanup(f func()) { c.cleanups = append(c.cleanups, f) }
func (c *cleanupTB) Failed() bool     { return c.failed }
func (c *cleanupTB) Logf(format string, args ...any) {
	c.logs = append(c.logs, fmt.Sprintf(format, args...))
}

func (c *cleanupTB) runCleanups() {
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.cleanups[i]()
	}
}

// openPostgres opens rawURL with the pgx driver; t.Cleanup closes it.
func openPostgres(t *testing.T, rawURL string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// searchPath returns the search_path parameter of a URL from NewPostgresSchema.
func searchPath(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	sp := u.Query().Get("search_path")
	if sp == "" {
		t.Fatalf("URL %s has no search_path", u.Redacted())
	}
	return sp
}

func TestRequireAll(t *testing.T) {
	e := devstack.Require(t, devstack.Kafka|devstack.S3|devstack.Kinesis|devstack.MySQL|devstack.Postgres)
	env := strings.Join(e.Environ(), "\n")
	for _, k := range []string{"AWS_ENDPOINT_URL_S3=", "AWS_ENDPOINT_URL_KINESIS=", "AWS_REGION=", "AWS_DEFAULT_REGION=", "PINPIPE_KAFKA_BROKERS=", "PINPIPE_MYSQL_DSN=", "PINPIPE_POSTGRES_URL="} {
		if !strings.Contains(env, k) {
			t.Errorf("Environ() lacks %s:\n%s", k, env)
		}
	}
	if got := os.Getenv("AWS_ENDPOINT_URL_S3"); got != e.S3Endpoint {
		t.Errorf("AWS_ENDPOINT_URL_S3 = %q, want %q", got, e.S3Endpoint)
	}
}
