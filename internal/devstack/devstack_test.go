package devstack_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
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

func TestRequireAll(t *testing.T) {
	e := devstack.Require(t, devstack.Kafka|devstack.S3|devstack.Kinesis|devstack.MySQL)
	env := strings.Join(e.Environ(), "\n")
	for _, k := range []string{"AWS_ENDPOINT_URL_S3=", "AWS_ENDPOINT_URL_KINESIS=", "AWS_REGION=", "PINPIPE_KAFKA_BROKERS=", "PINPIPE_MYSQL_DSN="} {
		if !strings.Contains(env, k) {
			t.Errorf("Environ() lacks %s:\n%s", k, env)
		}
	}
	if got := os.Getenv("AWS_ENDPOINT_URL_S3"); got != e.S3Endpoint {
		t.Errorf("AWS_ENDPOINT_URL_S3 = %q, want %q", got, e.S3Endpoint)
	}
}
