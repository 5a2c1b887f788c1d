package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/streamtest"
	"github.com/pinpipe/pinpipe/pkg/gateway"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}

func newKinesisGateway(t testing.TB, api gateway.KinesisAPI, reg *prometheus.Registry) *httptest.Server {
	t.Helper()
	cfg := gateway.Config{Kinesis: api, PathPrefix: "/prod", MaxRecordBytes: 2000}
	if reg != nil {
		cfg.Metrics = gateway.NewMetrics(reg)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv
}

// TestKinesisResources goes through every resource of the original's API
// Gateway Kinesis integration against kinesalite, and reads the records
// back from the stream.
func TestKinesisResources(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis)
	api := streamtest.KinesisClient(env, env.KinesisEndpoint)
	reg := prometheus.NewRegistry()
	srv := newKinesisGateway(t, api, reg)
	base := srv.URL + "/prod/streams"
	stream := streamtest.UniqueName("streaming-gw-pin-")

	a := send(t, "POST", base+"/"+stream, "application/json", `{"ShardCount": 2}`)
	if a.status != 200 || strings.TrimSpace(string(a.body)) != "{}" {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	t.Cleanup(func() {
		_, _ = api.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: aws.String(stream)})
	})
	a = send(t, "POST", base+"/"+stream, "application/json", `{"ShardCount": 2}`)
	if a.status != 409 || !strings.Contains(string(a.body), "ResourceInUseException") {
		t.Errorf("create again: %d %s, want 409 ResourceInUseException", a.status, a.body)
	}
	streamtest.WaitActive(t, api, stream)

	a = send(t, "GET", base, "", "")
	var list gateway.ListStreamsResponse
	if a.status != 200 || json.Unmarshal(a.body, &list) != nil || !slices.Contains(list.StreamNames, stream) {
		t.Errorf("list: %d %s, want %s listed", a.status, a.body, stream)
	}
	a = send(t, "GET", base+"/"+stream, "", "")
	var desc gateway.DescribeStreamResponse
	if a.status != 200 || json.Unmarshal(a.body, &desc) != nil || desc.StreamDescription.StreamName != stream ||
		desc.StreamDescription.StreamStatus != "ACTIVE" || len(desc.StreamDescription.Shards) != 2 || desc.StreamDescription.StreamCreationTimestamp < 1e9 {
		t.Errorf("describe: %d %s", a.status, a.body)
	}

	// One record per request, as the original's streaming script sends it:
	// StreamName a placeholder, Data an object.
	var want []string
	for i := range 5 {
		data := fmt.Sprintf(`{"index": %d, "title": "pin \u00e9 %d", "downloaded": "1"}`, i, i)
		body := fmt.Sprintf(`{"StreamName": "YourStreamName", "Data": %s, "PartitionKey": "partition-%d"}`, data, i)
		a := send(t, "PUT", base+"/"+stream+"/record", "application/json", body)
		var put gateway.PutRecordResponse
		if a.status != 200 || json.Unmarshal(a.body, &put) != nil || put.SequenceNumber == "" || !strings.HasPrefix(put.ShardID, "shardId-") {
			t.Fatalf("put record: %d %s", a.status, a.body)
		}
		want = append(want, data)
	}
	var entries []string
	for i := range 7 {
		data := fmt.Sprintf(`{"ind":%d,"country":"x"}`, 100+i)
		entries = append(entries, fmt.Sprintf(`{"data":%s,"partition-key":"k%d"}`, data, i))
		want = append(want, data)
	}
	a = send(t, "PUT", base+"/"+stream+"/records", "application/json", `{"records":[`+strings.Join(entries, ",")+`]}`)
	var puts gateway.PutRecordsResponse
	if a.status != 200 || json.Unmarshal(a.body, &puts) != nil || puts.FailedRecordCount != 0 || len(puts.Records) != 7 {
		t.Fatalf("put records: %d %s", a.status, a.body)
	}
	for i, r := range puts.Records {
		if r.SequenceNumber == "" || r.ShardID == "" || r.ErrorCode != "" {
			t.Errorf("records[%d] = %+v", i, r)
		}
	}
	var got []string
	for _, p := range streamtest.ReadStream(t, api, stream) {
		got = append(got, string(p.Data))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("stream holds\n%q\nwant\n%q", got, want)
	}
	if n := counterValue(t, reg, "pinpipe_gateway_records_total", "backend", "kinesis", "result", "stored"); n != 12 {
		t.Errorf("records stored counted %v, want 12", n)
	}

	// Bad requests: a clear 4xx, nothing stored.
	bad := []struct {
		name, method, path, ctype, body string // path: after the server's URL
		status                          int
		msg                             string
	}{
		{"unknown stream", "PUT", "/prod/streams/nope-" + stream + "/record", "application/json", `{"Data":{"a":1},"PartitionKey":"k"}`, 404, "ResourceNotFoundException"},
		{"no data", "PUT", "/prod/streams/" + stream + "/record", "application/json", `{"StreamName":"s","PartitionKey":"k"}`, 400, "no data"},
		{"no partition key", "PUT", "/prod/streams/" + stream + "/record", "application/json", `{"Data":{"a":1}}`, 400, "partition key"},
		{"malformed", "PUT", "/prod/streams/" + stream + "/record", "application/json", `{"Data":`, 400, "malformed"},
		{"key not a string", "PUT", "/prod/streams/" + stream + "/record", "application/json", `{"Data":{},"PartitionKey":7}`, 400, "PartitionKey"},
		{"too large", "PUT", "/prod/streams/" + stream + "/record", "application/json", `{"Data":"` + strings.Repeat("x", 3000) + `","PartitionKey":"k"}`, 400, "limit is 2000"},
		{"content type", "PUT", "/prod/streams/" + stream + "/record", "text/plain", `{}`, 415, "application/json"},
		{"no records", "PUT", "/prod/streams/" + stream + "/records", "application/json", `{"records":[]}`, 400, "0 records"},
		{"entry without key", "PUT", "/prod/streams/" + stream + "/records", "application/json", `{"records":[{"data":{"a":1},"partition-key":"k"},{"data":{"a":2}}]}`, 400, "records[1]"},
		{"too many records", "PUT", "/prod/streams/" + stream + "/records", "application/json", `{"records":[` + strings.Repeat(`{"data":1,"partition-key":"k"},`, 500) + `{"data":1,"partition-key":"k"}]}`, 400, "501 records"},
		{"bad shard count", "POST", "/prod/streams/x" + stream, "application/json", `{"ShardCount":0}`, 400, "ShardCount"},
		{"wrong method", "POST", "/prod/streams/" + stream + "/record", "application/json", `{}`, 405, "PUT"},
		{"unknown resource", "GET", "/prod/streams/" + stream + "/shards", "", "", 404, "no resource"},
		{"outside the stage", "GET", "/streams", "", "", 404, "/prod/"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, tc.method, srv.URL+tc.path, tc.ctype, tc.body)
			var e gateway.KinesisError
			if a.status != tc.status || json.Unmarshal(a.body, &e) != nil || e.Type == "" || e.Retryable || !strings.Contains(string(a.body), tc.msg) {
				t.Fatalf("answer %d %s, want %d with %q", a.status, a.body, tc.status, tc.msg)
			}
		})
	}
	if n := len(streamtest.ReadStream(t, api, stream)); n != len(want) {
		t.Errorf("stream holds %d records after the bad requests, want %d", n, len(want))
	}

	a = send(t, "DELETE", base+"/"+stream, "", "")
	if a.status != 200 {
		t.Errorf("delete: %d %s", a.status, a.body)
	}
}

// TestKinesisDown: with Kinesis unreachable, a put gets 503 with a
// retryable body.
func TestKinesisDown(t *testing.T) {
	dead := "http://" + devstack.FreeAddr(t)
	api := streamtest.KinesisClient(devstack.Env{Region: "us-east-1", AccessKey: "a", SecretKey: "b"}, dead)
	srv := newKinesisGateway(t, api, nil)
	a := send(t, "PUT", srv.URL+"/prod/streams/s/record", "application/json", `{"Data":{"a":1},"PartitionKey":"k"}`)
	var e gateway.KinesisError
	if a.status != 503 || json.Unmarshal(a.body, &e) != nil || !e.Retryable || e.Type != "ServiceUnavailable" {
		t.Fatalf("answer %d %s: want 503, retryable", a.status, a.body)
	}
}
