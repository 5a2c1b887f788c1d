// Package streamtest (tests only; it needs the local stack) holds the helpers of the stream job's integration tests:
// streams on the local Kinesis server, records to put, and reading the output back.
package streamtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/tabletest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/sample"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// KinesisClient returns a client of the Kinesis server at endpoint.
func KinesisClient(env devstack.Env, endpoint string) *kinesis.Client {
	cfg := aws.Config{Region: env.Region, Credentials: credentials.NewStaticCredentialsProvider(env.AccessKey, env.SecretKey, "")}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.Retryer = aws.NopRetryer{}
	})
}

// UniqueName returns prefix followed by 8 random hex digits.
func UniqueName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// CreateStream creates a stream with n shards and waits until it is active.
func CreateStream(t testing.TB, api *kinesis.Client, name string, n int32) {
	t.Helper()
	ctx := t.Context()
	if _, err := api.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(n)}); err != nil {
		t.Fatalf("creating stream %s: %v", name, err)
	}
	WaitActive(t, api, name)
	t.Cleanup(func() {
		_, _ = api.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(name)})
	})
}

// WaitActive waits until the stream is ACTIVE (30s at most).
func WaitActive(t testing.TB, api *kinesis.Client, name string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := api.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
	}
	t.Fatalf("stream %s not active after 30s", name)
}

// Put is one record Put into a stream (or one user record of it,
// UserRecords).
type Put struct {
	Data       []byte
	Shard, Seq string
}

// Key is "shard/sequence", the identity of a record.
func (p Put) Key() string { return p.Shard + "/" + p.Seq }

// PutAll puts the records with PutRecords, retrying failed entries.
func PutAll(t testing.TB, api *kinesis.Client, stream string, recs [][]byte) []Put {
	t.Helper()
	var out []Put
	for len(recs) > 0 {
		n := min(len(recs), 500)
		chunk := recs[:n]
		entries := make([]types.PutRecordsRequestEntry, n)
		for i, d := range chunk {
			entries[i] = types.PutRecordsRequestEntry{Data: d, PartitionKey: aws.String(UniqueName("k"))}
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
			out = append(out, Put{Data: chunk[i], Shard: aws.ToString(r.ShardId), Seq: aws.ToString(r.SequenceNumber)})
		}
		recs = append(again, recs[n:]...)
	}
	return out
}

// ReadStream reads every record of every shard of stream from its start:
// the stream's own account of what was put. A PutRecords whose answer was
// lost (and that the client or PutAll then sent again) is in the stream
// once per attempt, and the job must store each of those records.
func ReadStream(t testing.TB, api *kinesis.Client, stream string) []Put {
	t.Helper()
	ctx := context.Background()
	shards, err := api.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("listing shards of %s: %v", stream, err)
	}
	var out []Put
	for _, sh := range shards.Shards {
		it, err := api.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
			ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatalf("iterator of %s/%s: %v", stream, aws.ToString(sh.ShardId), err)
		}
		iter := it.ShardIterator
		for iter != nil {
			res, err := api.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
			if err != nil {
				t.Fatalf("reading %s/%s: %v", stream, aws.ToString(sh.ShardId), err)
			}
			for _, r := range res.Records {
				out = append(out, Put{Data: r.Data, Shard: aws.ToString(sh.ShardId), Seq: aws.ToString(r.SequenceNumber)})
			}
			if len(res.Records) == 0 && aws.ToInt64(res.MillisBehindLatest) == 0 {
				break
			}
			iter = res.NextShardIterator
		}
	}
	return out
}

// PinRecords returns n pin records: dirty sample records plus a few
// blank and rejected ones.
func PinRecords(seed int64, from, n int) [][]byte {
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
		case 43: // a field renamed upstream: an unknown key, counted by name
			out = append(out, []byte(fmt.Sprintf(`{"index": %d, "unique_id": "u-%d", "poster": "renamed"}`, i, i)))
		default:
			p, _, _ := g.DirtyRecords(i)
			out = append(out, p)
		}
	}
	return out
}

// Aggregate packs recs into KPL-aggregated records (kinesisx.Aggregator) of
// up to per records each, partition keys their indexes.
func Aggregate(recs [][]byte, per int) [][]byte {
	var out [][]byte
	var a kinesisx.Aggregator
	for i, d := range recs {
		a.Add(fmt.Sprint(i), d)
		if a.Len() == per || i == len(recs)-1 {
			out = append(out, a.Bytes())
			a.Reset()
		}
	}
	return out
}

// UserRecords are the user records of puts (KPL-aggregated records, or
// not), each named by its record's ID (kinesisx.Record.ID), as the job
// stores them.
func UserRecords(t testing.TB, puts []Put) []Put {
	t.Helper()
	var out []Put
	for _, p := range puts {
		users, err := kinesisx.Deaggregate(kinesisx.Record{Sequence: p.Seq, Data: p.Data})
		if err != nil {
			t.Fatalf("record %s: %v", p.Key(), err)
		}
		for _, u := range users {
			out = append(out, Put{Data: u.Data, Shard: p.Shard, Seq: u.ID()})
		}
	}
	return out
}

// Output is what a job stored for one table, by "shard/seq".
type Output struct {
	Rows    map[string][]clean.Pin
	Rejects map[string][]parquetio.Rejected
	Files   int
}

// ReadPins reads the live files of the Iceberg tables stream_pin and
// stream_quarantine (the pin rejects), by record key (the pin table must
// have the source columns).
func ReadPins(t testing.TB, cat *tables.Catalog) Output {
	t.Helper()
	out := Output{Rows: map[string][]clean.Pin{}, Rejects: map[string][]parquetio.Rejected{}}
	files := tabletest.Files(t, cat, tables.StreamDef(clean.TablePin, true))
	for loc, data := range files {
		out.Files++
		rows, src, err := parquetio.ReadPins(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("reading %s: %v", loc, err)
		}
		if len(src) != len(rows) {
			t.Fatalf("%s: %d rows, %d source rows", loc, len(rows), len(src))
		}
		for i, r := range rows {
			k := src[i].Shard + "/" + src[i].Sequence
			out.Rows[k] = append(out.Rows[k], r)
		}
	}
	for _, r := range tabletest.Rejected(t, cat, tables.StreamQuarantineDef()) {
		if r.Table != string(clean.TablePin) {
			continue
		}
		k := r.Shard + "/" + r.Sequence
		out.Rejects[k] = append(out.Rejects[k], r)
	}
	return out
}

// Expected counts the accepted and rejected records of puts.
func Expected(puts []Put) (rows, rejects int) {
	c := clean.New()
	for _, p := range puts {
		_, err := c.Pin(p.Data)
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

// ExpectedQuality is the quality report of the pin table once every record
// of puts is stored once: the counts of one Cleaner over them, with the
// accepted rows written.
func ExpectedQuality(puts []Put) clean.TableQuality {
	c := clean.New()
	for _, p := range puts {
		_, _ = c.Pin(p.Data)
	}
	q := c.Quality().Pin
	rows, _ := Expected(puts)
	q.RowsWritten = int64(rows)
	return q
}

// ReadQuality reads the cumulative quality that table def (stream_pin, ...)
// holds in its properties (the stream job's stream.QualityKey; this package
// cannot import stream, whose benchmarks use it).
func ReadQuality(t testing.TB, cat *tables.Catalog, def tables.Def) clean.TableQuality {
	t.Helper()
	tbl, err := cat.Ensure(context.Background(), def)
	if err != nil {
		t.Fatal(err)
	}
	var q clean.TableQuality
	if err := json.Unmarshal([]byte(tbl.Properties()["pinpipe.stream.quality"]), &q); err != nil {
		t.Fatalf("table %s: the quality property: %v", tbl.Name(), err)
	}
	return q
}

// CheckQuality compares a pin quality report with ExpectedQuality(puts).
func CheckQuality(t testing.TB, got clean.TableQuality, puts []Put) {
	t.Helper()
	want := ExpectedQuality(puts)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pin quality:\n got %+v\nwant %+v", got, want)
	}
}

// CheckExactlyOnce compares the Output with the puts record for record.
func CheckExactlyOnce(t testing.TB, out Output, stream string, puts []Put) {
	t.Helper()
	c := clean.New()
	seen := map[string]bool{}
	bad := 0
	for _, p := range puts {
		k := p.Key()
		if seen[k] {
			t.Fatalf("Put %s twice", k)
		}
		seen[k] = true
		want, err := c.Pin(p.Data)
		var re *clean.RecordError
		switch {
		case err == nil:
			got := out.Rows[k]
			if len(got) != 1 || got[0] != want || len(out.Rejects[k]) != 0 {
				if bad++; bad < 10 {
					t.Errorf("record %s: %d rows (want 1), %d rejects; rows %+v, want %+v", k, len(got), len(out.Rejects[k]), got, want)
				}
			}
		case errors.Is(err, clean.ErrBlank):
			if len(out.Rows[k])+len(out.Rejects[k]) != 0 {
				t.Errorf("blank record %s stored", k)
			}
		case errors.As(err, &re):
			rj := out.Rejects[k]
			if len(rj) != 1 || len(out.Rows[k]) != 0 || rj[0].Reason != string(re.Reason) || rj[0].Source != stream ||
				rj[0].Raw != string(p.Data) || rj[0].Table != "pin" {
				if bad++; bad < 10 {
					t.Errorf("rejected record %s: %d rows, rejects %+v, want one with reason %s", k, len(out.Rows[k]), rj, re.Reason)
				}
			}
		}
	}
	for k := range out.Rows {
		if !seen[k] {
			t.Errorf("row %s was never Put", k)
		}
	}
	for k := range out.Rejects {
		if !seen[k] {
			t.Errorf("reject %s was never Put", k)
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d records wrong", bad, len(puts))
	}
}
