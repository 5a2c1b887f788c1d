package stream_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/stream"
)

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

func writeCheckpoint(t *testing.T, b objstore.Bucket, cp stream.Checkpoint) {
	t.Helper()
	data, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(t.Context(), objstore.Join(stream.DefaultCheckpointPrefix, cp.Stream, cp.Shard+".json"), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

func testutilValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
