package gateway_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/gateway"
)

// TestAppendJSONRoundTrip: what AppendJSON writes is what json.Marshal
// writes, and decodes to the same request.
func TestAppendJSONRoundTrip(t *testing.T) {
	p := int32(2)
	requests := []any{
		gateway.ProduceRequest{Records: []gateway.ProduceRecord{
			{Value: json.RawMessage(`{"index":1,"title":"a \"q\" é"}`)},
			{Key: json.RawMessage(`"k1"`), Value: json.RawMessage(`[1,2]`), Partition: &p},
			{Key: json.RawMessage(`{"x":1}`), Value: json.RawMessage(`null`)},
		}},
		gateway.PutRecordRequest{StreamName: "streaming-p-pin", Data: json.RawMessage(`{"ind":7}`), PartitionKey: "partition-\u2028<1>"},
		gateway.PutRecordRequest{Data: json.RawMessage(`"s"`), PartitionKey: "k"},
		gateway.PutRecordsRequest{Records: []gateway.PutRecordsEntry{
			{Data: json.RawMessage(`{"ind":1}`), PartitionKey: "1"},
			{Data: json.RawMessage(`{"ind":2,"a":[true,null]}`), PartitionKey: "\x01\"2"},
		}},
	}
	for _, req := range requests {
		var got []byte
		switch r := req.(type) {
		case gateway.ProduceRequest:
			got = r.AppendJSON(nil)
		case gateway.PutRecordRequest:
			got = r.AppendJSON(nil)
		case gateway.PutRecordsRequest:
			got = r.AppendJSON(nil)
		}
		want, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("AppendJSON\n%s\njson.Marshal\n%s", got, want)
		}
		back := reflect.New(reflect.TypeOf(req))
		if err := json.Unmarshal(got, back.Interface()); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if again, _ := json.Marshal(back.Elem().Interface()); string(again) != string(want) {
			t.Errorf("round trip of %s gave %s", want, again)
		}
	}
}
