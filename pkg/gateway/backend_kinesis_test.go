package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/pkg/gateway"
)

// fakeKinesis answers PutRecords: stream "gone" does not exist, an entry
// whose data holds "throttle" is throttled, "short" gets one result too few.
type fakeKinesis struct {
	gateway.KinesisAPI
	mu    sync.Mutex
	calls []int // records per call
	seq   int
}

func (f *fakeKinesis) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, len(in.Records))
	if aws.ToString(in.StreamName) == "gone" {
		return nil, &types.ResourceNotFoundException{Message: aws.String("Stream gone not found")}
	}
	out := &kinesis.PutRecordsOutput{}
	for _, e := range in.Records {
		if strings.Contains(string(e.Data), "throttle") {
			out.Records = append(out.Records, types.PutRecordsResultEntry{ErrorCode: aws.String("ProvisionedThroughputExceededException"), ErrorMessage: aws.String("slow down")})
			continue
		}
		f.seq++
		out.Records = append(out.Records, types.PutRecordsResultEntry{SequenceNumber: aws.String(fmt.Sprint(f.seq)), ShardId: aws.String("shardId-0|" + string(e.Data))})
	}
	if aws.ToString(in.StreamName) == "short" {
		out.Records = out.Records[1:]
	}
	return out, nil
}

// TestPutRecordsShared: PutRecord requests arriving together share
// PutRecords calls, and each gets its own record's result or error.
func TestPutRecordsShared(t *testing.T) {
	f := &fakeKinesis{}
	// A linger much longer than the time the requests take to arrive: the
	// sharing asserted below does not depend on the scheduler.
	g, err := gateway.New(gateway.Config{Kinesis: f, KinesisLinger: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	const n = 200
	var wg sync.WaitGroup
	answers := make([]answer, n)
	for i := range n {
		wg.Go(func() {
			data := fmt.Sprintf(`{"i":%d}`, i)
			if i%10 == 3 {
				data = fmt.Sprintf(`{"i":%d,"throttle":1}`, i)
			}
			answers[i] = send(t, "PUT", srv.URL+"/streams/s/record", "application/json", fmt.Sprintf(`{"Data":%s,"PartitionKey":"k"}`, data))
		})
	}
	wg.Wait()
	for i, a := range answers {
		if i%10 == 3 {
			var e gateway.KinesisError
			if a.status != 503 || json.Unmarshal(a.body, &e) != nil || e.Type != "ProvisionedThroughputExceededException" || !e.Retryable {
				t.Errorf("throttled record %d: %d %s", i, a.status, a.body)
			}
			continue
		}
		var r gateway.PutRecordResponse
		if a.status != 200 || json.Unmarshal(a.body, &r) != nil || r.ShardID != fmt.Sprintf(`shardId-0|{"i":%d}`, i) || r.SequenceNumber == "" {
			t.Errorf("record %d got another's result: %d %s", i, a.status, a.body)
		}
	}
	total := 0
	for _, c := range f.calls {
		total += c
	}
	if total != n || len(f.calls) >= n {
		t.Errorf("%d records in %d calls (%v): not shared", total, len(f.calls), f.calls)
	}
	t.Logf("%d requests in %d PutRecords calls", n, len(f.calls))

	// A call that fails as a whole fails each of its requests.
	a := send(t, "PUT", srv.URL+"/streams/gone/record", "application/json", `{"Data":{"a":1},"PartitionKey":"k"}`)
	if a.status != 404 || !strings.Contains(string(a.body), "ResourceNotFoundException") {
		t.Errorf("stream gone: %d %s", a.status, a.body)
	}
	a = send(t, "PUT", srv.URL+"/streams/short/record", "application/json", `{"Data":{"a":1},"PartitionKey":"k"}`)
	if a.status != 503 || !strings.Contains(string(a.body), "which were stored is unknown") {
		t.Errorf("short answer: %d %s", a.status, a.body)
	}
	a = send(t, "PUT", srv.URL+"/streams/short/records", "application/json", `{"records":[{"data":{"a":1},"partition-key":"k"},{"data":{"a":2},"partition-key":"k"}]}`)
	if a.status != 503 || !strings.Contains(string(a.body), "which were stored is unknown") {
		t.Errorf("short answer to PutRecords: %d %s", a.status, a.body)
	}
}
