package stream_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}

// kinesisClient returns a client of the Kinesis server at endpoint.
func kinesisClient(env devstack.Env, endpoint string) *kinesis.Client {
	cfg := aws.Config{Region: env.Region, Credentials: credentials.NewStaticCredentialsProvider(env.AccessKey, env.SecretKey, "")}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.Retryer = aws.NopRetryer{}
	})
}

func uniqueName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// createStream creates a stream with n shards and waits until it is active.
func createStream(t *testing.T, api *kinesis.Client, name string, n int32) {
	t.Helper()
	ctx := t.Context()
	if _, err := api.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(n)}); err != nil {
		t.Fatalf("creating stream %s: %v", name, err)
	}
	waitActive(t, api, name)
	t.Cleanup(func() {
		_, _ = api.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(name)})
	})
}

func waitActive(t *testing.T, api *kinesis.Client, name string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := api.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
	}
	t.Fatalf("stream %s not active after 30s", name)
}

// put is one record put into a stream.
type put struct {
	data       []byte
	shard, seq string
}

func (p put) key() string { return p.shard + "/" + p.seq }

// putAll puts the records with PutRecords, retrying failed entries.
func putAll(t testing.TB, api *kinesis.Client, stream string, recs [][]byte) []put {
	t.Helper()
	var out []put
	for len(recs) > 0 {
		n := min(len(recs), 500)
		chunk := recs[:n]
		entries := make([]types.PutRecordsRequestEntry, n)
		for i, d := range chunk {
			entries[i] = types.PutRecordsRequestEntry{Data: d, PartitionKey: aws.String(uniqueName("k"))}
		}
		res, err := api.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
		if err != nil {
			t.Logf("PutRecords: %v (retrying)", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		var again [][]byte
		for i, r := range res.Records {
			if r.ErrorCode != nil {
				again = append(again, chunk[i])
				continue
			}
			out = append(out, put{data: chunk[i], shard: aws.ToString(r.ShardId), seq: aws.ToString(r.SequenceNumber)})
		}
		recs = append(again, recs[n:]...)
	}
	return out
}

// pinRecords returns n pin records: dirty sample records plus a few
// blank and rejected ones.
func pinRecords(seed int64, from, n int) [][]byte {
	g := sample.New(seed)
	out := make([][]byte, 0, n)
	for i := from; i < from+n; i++ {
		switch i % 97 {
		case 13:
			out = append(out, []byte("   "))
		case 29:
			out = append(out, []byte(`{"index": 1, "title": "no unique id"}`))
		case 31:
			out = append(out, []byte(`not json at all `+fmt.Sprint(i)))
		default:
			p, _, _ := g.DirtyRecords(i)
			out = append(out, p)
		}
	}
	return out
}

// output is what a job stored for one table, by "shard/seq".
type output struct {
	rows    map[string][]clean.Pin
	rejects map[string][]parquetio.Rejected
	files   int
}

func readPins(t testing.TB, b objstore.Bucket, table string) output {
	t.Helper()
	ctx := context.Background()
	out := output{rows: map[string][]clean.Pin{}, rejects: map[string][]parquetio.Rejected{}}
	objs, err := b.List(ctx, table+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, ".parquet") {
			continue
		}
		out.files++
		rows, src, err := parquetio.ReadPins(bytes.NewReader(get(t, b, o.Key)))
		if err != nil {
			t.Fatalf("reading %s: %v", o.Key, err)
		}
		if len(src) != len(rows) {
			t.Fatalf("%s: %d rows, %d source rows", o.Key, len(rows), len(src))
		}
		for i, r := range rows {
			k := src[i].Shard + "/" + src[i].Sequence
			out.rows[k] = append(out.rows[k], r)
		}
	}
	qobjs, err := b.List(ctx, "quarantine/"+table+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range qobjs {
		rj, err := parquetio.ReadRejected(bytes.NewReader(get(t, b, o.Key)))
		if err != nil {
			t.Fatalf("reading %s: %v", o.Key, err)
		}
		for _, r := range rj {
			k := r.Shard + "/" + r.Sequence
			out.rejects[k] = append(out.rejects[k], r)
		}
	}
	return out
}

func get(t testing.TB, b objstore.Bucket, key string) []byte {
	t.Helper()
	rc, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// expected counts the accepted and rejected records of puts.
func expected(puts []put) (rows, rejects int) {
	c := clean.New()
	for _, p := range puts {
		_, err := c.Pin(p.data)
		switch {
		case err == nil:
			rows++
		case errors.Is(err, clean.ErrBlank):
		default:
			rejects++
		}
	}
	return rows, rejects
}

// checkExactlyOnce compares the output with the puts record for record.
func checkExactlyOnce(t testing.TB, out output, stream string, puts []put) {
	t.Helper()
	c := clean.New()
	seen := map[string]bool{}
	bad := 0
	for _, p := range puts {
		k := p.key()
		if seen[k] {
			t.Fatalf("put %s twice", k)
		}
		seen[k] = true
		want, err := c.Pin(p.data)
		var re *clean.RecordError
		switch {
		case err == nil:
			got := out.rows[k]
			if len(got) != 1 || got[0] != want || len(out.rejects[k]) != 0 {
				if bad++; bad < 10 {
					t.Errorf("record %s: %d rows (want 1), %d rejects; rows %+v, want %+v", k, len(got), len(out.rejects[k]), got, want)
				}
			}
		case errors.Is(err, clean.ErrBlank):
			if len(out.rows[k])+len(out.rejects[k]) != 0 {
				t.Errorf("blank record %s stored", k)
			}
		case errors.As(err, &re):
			rj := out.rejects[k]
			if len(rj) != 1 || len(out.rows[k]) != 0 || rj[0].Reason != string(re.Reason) || rj[0].Source != stream ||
				rj[0].Raw != string(p.data) || rj[0].Table != "pin" {
				if bad++; bad < 10 {
					t.Errorf("rejected record %s: %d rows, rejects %+v, want one with reason %s", k, len(out.rows[k]), rj, re.Reason)
				}
			}
		}
	}
	for k := range out.rows {
		if !seen[k] {
			t.Errorf("row %s was never put", k)
		}
	}
	for k := range out.rejects {
		if !seen[k] {
			t.Errorf("reject %s was never put", k)
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d records wrong", bad, len(puts))
	}
}

