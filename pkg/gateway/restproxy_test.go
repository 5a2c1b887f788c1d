package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/landtest"
	"github.com/pinpipe/pinpipe/pkg/gateway"
)

// newTopic creates topic with n partitions on the cluster at broker.
func newTopic(t testing.TB, broker, topic string, n int) {
	t.Helper()
	conn, err := kafka.Dial("tcp", broker)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: n, ReplicationFactor: 1}); err != nil {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
}

// readPartition returns every message of one partition of topic.
func readPartition(t testing.TB, broker, topic string, p int) []kafka.Message {
	t.Helper()
	return landtest.Messages(t, t.Context(), []string{broker}, topic)[p]
}

// newGateway serves a gateway in front of brokers; cfg's Kafka is set.
func newGateway(t testing.TB, brokers []string, cfg gateway.Config) (*httptest.Server, *gateway.Kafka) {
	t.Helper()
	k, err := gateway.NewKafka(gateway.KafkaOptions{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	cfg.Kafka = k
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv, k
}

type answer struct {
	status int
	ctype  string
	body   []byte
}

func send(t testing.TB, method, url, ctype string, body string, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), data}
}

func TestProduceStoresAndAnswersOffsets(t *testing.T) {
	brokers := devstack.NewKafka(t)
	newTopic(t, brokers[0], "p.pin", 3)
	srv, _ := newGateway(t, brokers, gateway.Config{PathPrefix: "/prod"})

	body := `{"records":[{"value":{"index":1,"title":"a"}},{"key":"k1","value":{"index":2}},{"value":[1,2],"partition":2},{"key":{"x":1},"value":"s"}]}`
	a := send(t, "POST", srv.URL+"/prod/topics/p.pin", gateway.ContentTypeJSON, body)
	if a.status != 200 || a.ctype != gateway.ContentTypeAnswer {
		t.Fatalf("answer %d %s: %s", a.status, a.ctype, a.body)
	}
	var ans gateway.ProduceResponse
	if err := json.Unmarshal(a.body, &ans); err != nil || len(ans.Offsets) != 4 {
		t.Fatalf("answer %s: %v", a.body, err)
	}
	if !bytes.Contains(a.body, []byte(`"key_schema_id":null`)) {
		t.Errorf("answer %s lacks the REST Proxy's key_schema_id", a.body)
	}
	want := []struct{ key, value string }{{"", `{"index":1,"title":"a"}`}, {`"k1"`, `{"index":2}`}, {"", `[1,2]`}, {`{"x":1}`, `"s"`}}
	for i, o := range ans.Offsets {
		if o.ErrorCode != nil || o.Partition == nil || o.Offset == nil {
			t.Fatalf("offsets[%d] = %+v", i, o)
		}
		msgs := readPartition(t, brokers[0], "p.pin", int(*o.Partition))
		var found *kafka.Message
		for j := range msgs {
			if msgs[j].Offset == *o.Offset {
				found = &msgs[j]
			}
		}
		if found == nil {
			t.Fatalf("record %d: no message at %d/%d", i, *o.Partition, *o.Offset)
		}
		if string(found.Value) != want[i].value || string(found.Key) != want[i].key {
			t.Errorf("record %d stored as key %q value %q, want %q %q", i, found.Key, found.Value, want[i].key, want[i].value)
		}
	}
	if *ans.Offsets[2].Partition != 2 {
		t.Errorf("record with partition 2 went to %d", *ans.Offsets[2].Partition)
	}
	// Keyed records go where the Java producer would put them (murmur2 of
	// the key's JSON text).
	if p := (kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: []byte(`"k1"`)}, 0, 1, 2); int32(p) != *ans.Offsets[1].Partition {
		t.Errorf("key k1 went to partition %d, murmur2 says %d", *ans.Offsets[1].Partition, p)
	}

	// The binary embedded format.
	b64 := base64.StdEncoding.EncodeToString
	body = fmt.Sprintf(`{"records":[{"key":%q,"value":%q,"partition":0}]}`, b64([]byte("bk")), b64([]byte{0, 1, 2, 0xff}))
	a = send(t, "POST", srv.URL+"/prod/topics/p.pin", gateway.ContentTypeBinary, body)
	if a.status != 200 {
		t.Fatalf("binary: %d %s", a.status, a.body)
	}
	json.Unmarshal(a.body, &ans)
	msgs := readPartition(t, brokers[0], "p.pin", 0)
	last := msgs[len(msgs)-1]
	if last.Offset != *ans.Offsets[0].Offset || string(last.Key) != "bk" || !bytes.Equal(last.Value, []byte{0, 1, 2, 0xff}) {
		t.Errorf("binary record stored as %+v, answer %s", last, a.body)
	}
}

func TestProduceBadRequests(t *testing.T) {
	brokers := devstack.NewKafka(t)
	newTopic(t, brokers[0], "p.geo", 2)
	reg := prometheus.NewRegistry()
	srv, _ := newGateway(t, brokers, gateway.Config{APIKey: "sekret", MaxBodyBytes: 4096, MaxRecordBytes: 100, Metrics: gateway.NewMetrics(reg)})
	key := []string{"x-api-key", "sekret"}
	ok := `{"records":[{"value":{"ind":1}}]}`
	tests := []struct {
		name, method, path, ctype, body string
		hdr                             []string
		status, code                    int
		msg                             string
	}{
		{"no api key", "POST", "/topics/p.geo", gateway.ContentTypeJSON, ok, nil, 403, 0, "x-api-key"},
		{"wrong api key", "POST", "/topics/p.geo", gateway.ContentTypeJSON, ok, []string{"x-api-key", "nope"}, 403, 0, "x-api-key"},
		{"unknown topic", "POST", "/topics/p.nope", gateway.ContentTypeJSON, ok, key, 404, 40401, "p.nope"},
		{"content type", "POST", "/topics/p.geo", "application/json", ok, key, 415, 415, "application/vnd.kafka.json.v2+json"},
		{"no content type", "POST", "/topics/p.geo", "", ok, key, 415, 415, "want"},
		{"avro", "POST", "/topics/p.geo", "application/vnd.kafka.avro.v2+json", ok, key, 415, 415, "avro"},
		{"malformed", "POST", "/topics/p.geo", gateway.ContentTypeJSON, `{"records":[{"value":`, key, 400, 400, "malformed"},
		{"records not a list", "POST", "/topics/p.geo", gateway.ContentTypeJSON, `{"records":{"value":1}}`, key, 400, 400, "records"},
		{"no records", "POST", "/topics/p.geo", gateway.ContentTypeJSON, `{"records":[]}`, key, 422, 42205, "no records"},
		{"no value", "POST", "/topics/p.geo", gateway.ContentTypeJSON, `{"records":[{"key":"a"}]}`, key, 422, 42205, "records[0] has no value"},
		{"bad base64", "POST", "/topics/p.geo", gateway.ContentTypeBinary, `{"records":[{"value":"!!"}]}`, key, 422, 42205, "base64"},
		{"binary not a string", "POST", "/topics/p.geo", gateway.ContentTypeBinary, `{"records":[{"value":{"a":1}}]}`, key, 422, 42205, "base64 string"},
		{"partition missing", "POST", "/topics/p.geo", gateway.ContentTypeJSON, `{"records":[{"value":1,"partition":2}]}`, key, 404, 40402, "partition 2"},
		{"negative partition", "POST", "/topics/p.geo", gateway.ContentTypeJSON, `{"records":[{"value":1,"partition":-1}]}`, key, 422, 42202, "partition -1"},
		{"record too large", "POST", "/topics/p.geo", gateway.ContentTypeJSON, `{"records":[{"value":"` + strings.Repeat("x", 200) + `"}]}`, key, 422, 42201, "limit is 100"},
		{"body too large", "POST", "/topics/p.geo", gateway.ContentTypeJSON, `{"records":[{"value":"` + strings.Repeat("x", 5000) + `"}]}`, key, 413, 413, "limit"},
		{"wrong method", "GET", "/topics/p.geo", "", "", key, 405, 405, "want POST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, tc.method, srv.URL+tc.path, tc.ctype, tc.body, tc.hdr...)
			if a.status != tc.status || !strings.Contains(string(a.body), tc.msg) {
				t.Fatalf("answer %d %s, want %d with %q", a.status, a.body, tc.status, tc.msg)
			}
			if tc.code != 0 {
				var e gateway.ProxyError
				if err := json.Unmarshal(a.body, &e); err != nil || e.ErrorCode != tc.code || e.Retryable {
					t.Fatalf("error body %s: want error_code %d, not retryable", a.body, tc.code)
				}
			}
		})
	}
	for i := 0; i < 2; i++ {
		if p := readPartition(t, brokers[0], "p.geo", i); len(p) != 0 {
			t.Errorf("partition %d holds %d records after bad requests", i, len(p))
		}
	}
	if n := counterValue(t, reg, "pinpipe_gateway_requests_total", "route", "produce", "code", "415"); n != 3 {
		t.Errorf("415 answers counted %v, want 3", n)
	}
}

// counterValue returns the value of the counter name with labels in reg
// (0 when there is none).
func counterValue(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestKafkaDown: with no broker, a produce request gets 503 with a
// retryable REST Proxy error, and /healthz turns unhealthy.
func TestKafkaDown(t *testing.T) {
	dead := devstack.FreeAddr(t)
	k, err := gateway.NewKafka(gateway.KafkaOptions{Brokers: []string{dead}, WriteTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	g, err := gateway.New(gateway.Config{Kafka: k, UnhealthyAfter: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	a := send(t, "POST", srv.URL+"/topics/p.pin", gateway.ContentTypeJSON, `{"records":[{"value":1}]}`)
	var e gateway.ProxyError
	if a.status != 503 || json.Unmarshal(a.body, &e) != nil || e.ErrorCode != gateway.ProxyKafkaRetriable || !e.Retryable {
		t.Fatalf("answer %d %s: want 503 with a retryable 50003", a.status, a.body)
	}
	if err := g.Health(); err == nil || !strings.Contains(err.Error(), "kafka") {
		t.Errorf("Health() = %v, want a kafka failure", err)
	}
}

// TestDrain: requests in flight when the gateway is stopped are answered,
// every record answered 200 is in Kafka exactly once, and Serve returns.
func TestDrain(t *testing.T) {
	brokers := devstack.NewKafka(t)
	newTopic(t, brokers[0], "p.user", 3)
	k, err := gateway.NewKafka(gateway.KafkaOptions{Brokers: brokers, Linger: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Config{Kafka: k})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/topics/p.user"
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx, ln, nil, 30*time.Second) }()

	var (
		mu       sync.Mutex
		acked    = map[string]bool{}
		wg       sync.WaitGroup
		started  = make(chan struct{}, 1000)
		notTaken int
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for c := range 32 {
		wg.Go(func() {
			for i := 0; ; i++ {
				v := fmt.Sprintf(`{"client":%d,"i":%d}`, c, i)
				req, _ := http.NewRequest("POST", url, strings.NewReader(`{"records":[{"value":`+v+`}]}`))
				req.Header.Set("Content-Type", gateway.ContentTypeJSON)
				select {
				case started <- struct{}{}:
				default:
				}
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					notTaken++
					mu.Unlock()
					return // the listener is closed: stopped
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return
				}
				mu.Lock()
				acked[v] = true
				mu.Unlock()
			}
		})
	}
	for range 500 { // stop while requests are in flight
		<-started
	}
	stop()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := g.Health(); err == nil {
		t.Error("Health() = nil after the drain")
	}
	wg.Wait()
	k.Close()
	stored := map[string]int{}
	for p := range 3 {
		for _, m := range readPartition(t, brokers[0], "p.user", p) {
			stored[string(m.Value)]++
		}
	}
	if len(acked) == 0 {
		t.Fatal("no request acknowledged")
	}
	for v := range acked {
		if stored[v] != 1 {
			t.Errorf("acknowledged record %s stored %d times", v, stored[v])
		}
	}
	for v := range stored { // a request cut off by the stop would be stored, not answered
		if !acked[v] {
			t.Errorf("record %s stored but not acknowledged", v)
		}
	}
	t.Logf("%d records acknowledged, %d stored, %d clients stopped by the closed listener", len(acked), len(stored), notTaken)
}

// TestTopicCreatedLater: a topic created while the gateway runs is served at
// once: the first request waits for the next metadata refresh rather than
// answering 404.
func TestTopicCreatedLater(t *testing.T) {
	brokers := devstack.NewKafka(t)
	newTopic(t, brokers[0], "p.pin", 1)
	srv, _ := newGateway(t, brokers, gateway.Config{})
	body := `{"records":[{"value":{"ind":1}}]}`
	if a := send(t, "POST", srv.URL+"/topics/p.pin", gateway.ContentTypeJSON, body); a.status != 200 {
		t.Fatalf("p.pin: %d %s", a.status, a.body)
	}
	if a := send(t, "POST", srv.URL+"/topics/p.late", gateway.ContentTypeJSON, body); a.status != 404 {
		t.Fatalf("p.late before it exists: %d %s", a.status, a.body)
	}
	newTopic(t, brokers[0], "p.late", 2)
	a := send(t, "POST", srv.URL+"/topics/p.late", gateway.ContentTypeJSON, body)
	if a.status != 200 {
		t.Fatalf("p.late just created: %d %s", a.status, a.body)
	}
	if n := len(readPartition(t, brokers[0], "p.late", 0)) + len(readPartition(t, brokers[0], "p.late", 1)); n != 1 {
		t.Errorf("p.late holds %d records, want 1", n)
	}
}
