package crosscheck

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/internal/tabletest"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/stream"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// TestQuarantineSameOnBothPaths puts the same bad lines through the batch
// job (landed objects) and the stream job (a closed shard of a fake Kinesis
// API) and requires the same table, reason, detail and raw text for each.
func TestQuarantineSameOnBothPaths(t *testing.T) {
	long := `{"index": 4, "junk": "` + strings.Repeat("x", clean.MaxRawBytes-23) + `€ and more"`
	lines := []string{
		`{"index": 1,`,
		`[1]`,
		`{"unique_id": "u"}`,
		`{"index": "x", "unique_id": "u"}`,
		`{"index": 3}`,
		long,
		"{\"index\": 5, \"unique_id\": \"\xff\"}",
		`{"index": 6, "unique_id": "u6"}`, // accepted
		` `,                               // blank: not a rejection
	}
	want := []clean.Rejected{
		{Reason: clean.ReasonInvalidJSON, Detail: "invalid JSON at byte 12", Raw: lines[0]},
		{Reason: clean.ReasonNotObject, Detail: "the record is not a JSON object", Raw: lines[1]},
		{Reason: clean.ReasonMissingKey, Detail: "neither index nor ind is given", Raw: lines[2]},
		{Reason: clean.ReasonInvalidKey, Detail: "index must be an integer in [0, 2147483647]", Raw: lines[3]},
		{Reason: clean.ReasonMissingUniqueID, Detail: "unique_id must be a non-empty string", Raw: lines[4]},
		{Reason: clean.ReasonInvalidJSON, Detail: fmt.Sprintf("invalid JSON at byte %d", len(long)), Raw: long[:clean.MaxRawBytes-1]},
		{Reason: clean.ReasonInvalidJSON, Detail: "invalid UTF-8", Raw: "{\"index\": 5, \"unique_id\": \"\uFFFD\"}"},
	}
	for i := range want {
		want[i].Table = clean.TablePin
	}

	batchRows := batchQuarantine(t, lines)
	streamRows := streamQuarantine(t, lines)
	for _, path := range []struct {
		name string
		rows []parquetio.Rejected
	}{{"batch", batchRows}, {"stream", streamRows}} {
		if len(path.rows) != len(want) {
			t.Fatalf("%s: %d rejected rows, want %d", path.name, len(path.rows), len(want))
		}
		for i, r := range path.rows {
			got := clean.Rejected{Table: clean.Table(r.Table), Reason: clean.Reason(r.Reason), Detail: r.Detail, Raw: r.Raw}
			if got != want[i] {
				t.Errorf("%s: row %d = %s, want %s", path.name, i, short(got), short(want[i]))
			}
		}
	}
	for i := range min(len(batchRows), len(streamRows)) {
		if b, s := batchRows[i], streamRows[i]; b.Line == 0 || b.Source == "" || s.Shard == "" || s.Sequence == "" || s.Source == "" {
			t.Errorf("row %d: batch from %q line %d, stream from %q shard %q sequence %q", i, b.Source, b.Line, s.Source, s.Shard, s.Sequence)
		}
	}
}

func short(r clean.Rejected) string {
	raw := r.Raw
	if len(raw) > 40 {
		raw = fmt.Sprintf("%.40s... (%d bytes)", raw, len(raw))
	}
	return fmt.Sprintf("{%s %s %q %q}", r.Table, r.Reason, r.Detail, raw)
}

// batchQuarantine lands lines as topic x.pin, runs the batch job and returns
// the pin rows of its batch_quarantine table, in line order.
func batchQuarantine(t *testing.T, lines []string) []parquetio.Rejected {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	in, err := objstore.Open(ctx, filepath.Join(dir, "topics"), objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	raw := make([][]byte, len(lines))
	for i, l := range lines {
		raw[i] = []byte(l)
	}
	if err := batchtest.Write(ctx, in, "x.pin", raw, batchtest.Layout{}); err != nil {
		t.Fatal(err)
	}
	tc := tables.Config{Warehouse: filepath.Join(dir, "warehouse")}
	if _, err := batch.Run(ctx, batch.Config{Input: in.URL(""), Prefix: "x", Tables: tc, Date: "2026-11-25"}); err != nil {
		t.Fatal(err)
	}
	cat := tabletest.Open(t, tc)
	defer cat.Close()
	var rows []parquetio.Rejected
	for _, r := range tabletest.Rejected(t, cat, tables.BatchQuarantineDef()) {
		if r.Table == string(clean.TablePin) {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b parquetio.Rejected) int { return cmp.Compare(a.Line, b.Line) })
	return rows
}

// streamQuarantine runs the stream job over one closed shard holding lines
// and returns its pin quarantine, in sequence order.
func streamQuarantine(t *testing.T, lines []string) []parquetio.Rejected {
	t.Helper()
	cat := tabletest.OpenSQLite(t, t.TempDir())
	api := &oneShard{recs: make([]types.Record, len(lines))}
	arrival := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i, l := range lines {
		api.recs[i] = types.Record{SequenceNumber: aws.String(fmt.Sprintf("%056d", i+1)), Data: []byte(l),
			PartitionKey: aws.String("k"), ApproximateArrivalTimestamp: aws.Time(arrival)}
	}
	job, err := stream.New(api, stream.Options{Streams: map[clean.Table]string{clean.TablePin: "s-pin"}, Tables: cat,
		MinInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- job.Run(ctx) }()
	// Wait for the shard to be read to its end and flushed.
	deadline := time.Now().Add(30 * time.Second)
	for job.Stats().ShardsDone < 1 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the shard was not finished in 30s: %+v", job.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rows := tabletest.Rejected(t, cat, tables.StreamQuarantineDef())
	slices.SortFunc(rows, func(a, b parquetio.Rejected) int { return strings.Compare(a.Sequence, b.Sequence) })
	return rows
}

// oneShard is a Kinesis API with one closed shard holding recs, all
// returned by the first GetRecords.
type oneShard struct {
	mu   sync.Mutex
	recs []types.Record
}

func (a *oneShard) DescribeStreamSummary(context.Context, *kinesis.DescribeStreamSummaryInput, ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	return &kinesis.DescribeStreamSummaryOutput{StreamDescriptionSummary: &types.StreamDescriptionSummary{StreamStatus: types.StreamStatusActive}}, nil
}

func (a *oneShard) ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	return &kinesis.ListShardsOutput{Shards: []types.Shard{{ShardId: aws.String("shardId-000000000000"),
		SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String("0"), EndingSequenceNumber: aws.String("9")}}}}, nil
}

func (a *oneShard) GetShardIterator(context.Context, *kinesis.GetShardIteratorInput, ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String("it")}, nil
}

func (a *oneShard) GetRecords(context.Context, *kinesis.GetRecordsInput, ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &kinesis.GetRecordsOutput{Records: a.recs, MillisBehindLatest: aws.Int64(0)}, nil // NextShardIterator nil: the end
}
