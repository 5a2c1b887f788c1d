package emit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/internal/landtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/emit"
	"github.com/pinpipe/pinpipe/pkg/gateway"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// got is one record read back from a target.
type got struct {
	Table clean.Table
	Key   string
	Value string
}

// decoded returns v as a canonical JSON text (numbers kept as written), so
// records compare as values, not bytes.
func decoded(t testing.TB, v []byte) string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("record %q is not a JSON object: %v", v, err)
	}
	out, _ := json.Marshal(m)
	return string(out)
}

// expected returns the records of the given row numbers of the sample of seed.
func expected(t testing.TB, seed int64, nums []int) []got {
	g := sample.New(seed)
	var out []got
	for _, n := range nums {
		r := g.Row(n)
		k := strconv.Itoa(n)
		out = append(out,
			got{clean.TablePin, k, decoded(t, r.PinJSON())},
			got{clean.TableGeo, k, decoded(t, r.GeoJSON())},
			got{clean.TableUser, k, decoded(t, r.UserJSON())})
	}
	return out
}

func sortGot(g []got) []got {
	g = slices.Clone(g)
	sort.Slice(g, func(i, j int) bool {
		if g[i].Table != g[j].Table {
			return g[i].Table < g[j].Table
		}
		if g[i].Key != g[j].Key {
			return g[i].Key < g[j].Key
		}
		return g[i].Value < g[j].Value
	})
	return g
}

func compare(t testing.TB, gotRecs, want []got) {
	t.Helper()
	a, b := sortGot(gotRecs), sortGot(want)
	if len(a) != len(b) {
		t.Fatalf("read back %d records, want %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("record %d differs:\n got  %+v\n want %+v", i, a[i], b[i])
		}
	}
}

// consumeKafka reads every record of the three topics of prefix with kafka-go.
func consumeKafka(t testing.TB, brokers []string, prefix string) []got {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var out []got
	for _, tb := range clean.Tables {
		msgs := landtest.Messages(t, ctx, brokers, landing.Topic(prefix, tb))
		for p := range len(msgs) {
			for _, m := range msgs[p] {
				out = append(out, got{tb, string(m.Key), decoded(t, m.Value)})
			}
		}
	}
	return out
}

// consumeKcat reads the topics of prefix with kcat, "key value" per line.
func consumeKcat(t testing.TB, brokers []string, prefix string) []got {
	t.Helper()
	bin, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kcat is not installed (.ci/run installs it with apt-get install kcat)")
		}
		t.Log("kcat not installed: skipping the kcat read-back (apt-get install kcat)")
		return nil
	}
	var out []got
	for _, tb := range clean.Tables {
		cmd := exec.CommandContext(t.Context(), bin, "-C", "-b", strings.Join(brokers, ","), "-t", landing.Topic(prefix, tb), "-e", "-q", "-f", "%k %s\n")
		data, err := cmd.Output()
		if err != nil {
			t.Fatalf("kcat: %v", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			k, v, _ := strings.Cut(line, " ")
			out = append(out, got{tb, k, decoded(t, []byte(v))})
		}
	}
	return out
}

func openSink(t testing.TB, url, prefix string, create bool) emit.Target {
	t.Helper()
	tg, err := emit.OpenSink(t.Context(), url, emit.SinkOptions{Prefix: prefix, Create: create})
	if err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	t.Cleanup(func() { tg.Sink.Close() })
	return tg
}

func runEmitter(t testing.TB, ctx context.Context, src emit.Source, targets []emit.Target, o emit.Options) emit.Stats {
	t.Helper()
	e, err := emit.New(src, targets, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	return e.Stats()
}

func seqNums(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestMySQLToKafka seeds MariaDB with the sample, emits every row in
// sequence to Kafka and reads it back with kafka-go and kcat: the records
// are the sample's wire records (DATETIME text, numbers, NULL as null).
func TestMySQLToKafka(t *testing.T) {
	dsn := mysqlDSN(t)
	brokers := startKafka(t)
	ctx := t.Context()
	db := openDB(t, dsn)
	tables := sample.WithSuffix(strconv.FormatInt(time.Now().UnixNano()%1e9, 36))
	if err := sample.CreateTables(ctx, db, tables); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sample.DropTables(context.Background(), db, tables) })
	const rows = 1200
	if err := sample.Load(ctx, db, tables, sample.New(3), rows, nil); err != nil {
		t.Fatal(err)
	}
	src, err := emit.OpenMySQL(ctx, dsn, tables)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if src.Len() != rows {
		t.Fatalf("Len = %d, want %d", src.Len(), rows)
	}
	p := prefix(t)
	tg := openSink(t, "kafka://"+strings.Join(brokers, ","), p, true)
	s := runEmitter(t, ctx, src, []emit.Target{tg}, emit.Options{Count: rows, Order: emit.OrderSequential})
	if s.Sent() != 3*rows || s.Failed() != 0 || s.Rows != rows {
		t.Fatalf("stats %+v", s)
	}
	want := expected(t, 3, seqNums(rows))
	compare(t, consumeKafka(t, brokers, p), want)
	if k := consumeKcat(t, brokers, p); k != nil {
		compare(t, k, want)
	}
}

// TestRandomOrderSeed checks that random order sends sample.Posts(seed):
// the same seed twice sends the same rows, another seed other rows.
func TestRandomOrderSeed(t *testing.T) {
	brokers := startKafka(t)
	src, err := emit.NewSampleSource(5, 300)
	if err != nil {
		t.Fatal(err)
	}
	const count = 400
	read := func(seed int64) []got {
		p := prefix(t)
		tg := openSink(t, "kafka://"+brokers[0], p, true)
		runEmitter(t, t.Context(), src, []emit.Target{tg}, emit.Options{Count: count, Seed: seed, BatchRows: 64})
		return sortGot(consumeKafka(t, brokers, p))
	}
	a, b, c := read(11), read(11), read(12)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed sent different rows")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds sent the same rows")
	}
	compare(t, a, expected(t, 5, sample.Posts(11, 300, count)))
}

// TestKinesis emits to kinesalite and reads every shard back, a Kinesis
// record per record or KPL-aggregated.
func TestKinesis(t *testing.T) {
	for _, aggregate := range []bool{false, true} {
		t.Run(fmt.Sprintf("aggregate-%v", aggregate), func(t *testing.T) { testKinesis(t, aggregate) })
	}
}

func testKinesis(t *testing.T, aggregate bool) {
	startKinesis(t)
	ctx := t.Context()
	p := prefix(t)
	tg, err := emit.OpenSink(ctx, "kinesis://", emit.SinkOptions{Prefix: p, Create: true, KinesisAggregate: aggregate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Sink.Close() })
	src, err := emit.NewSampleSource(9, 500)
	if err != nil {
		t.Fatal(err)
	}
	const count = 700
	s := runEmitter(t, ctx, src, []emit.Target{tg}, emit.Options{Count: count, Seed: 4})
	if s.Sent() != 3*count {
		t.Fatalf("stats %+v", s)
	}
	all, kinesisRecords := readStreams(t, kinesisClient(t), p, aggregate)
	compare(t, all, expected(t, 9, sample.Posts(4, 500, count)))
	if aggregate && kinesisRecords*10 > len(all) {
		t.Errorf("%d records in %d Kinesis records: hardly aggregated", len(all), kinesisRecords)
	}
}

// TestKinesisThroughGateway emits to kinesalite through the gateway's API
// Gateway resources with Create: the sink's Check creates the streams
// through the gateway (POST /streams/{stream}) and waits until they are
// ACTIVE; a second Check finds them there.
func TestKinesisThroughGateway(t *testing.T) {
	startKinesis(t)
	ctx := t.Context()
	c := kinesisClient(t)
	g, err := gateway.New(gateway.Config{PathPrefix: "/prod", Kinesis: c})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	p := prefix(t)
	tg, err := emit.OpenSink(ctx, srv.URL+"/prod/streams/", emit.SinkOptions{Prefix: p, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Sink.Close() })
	for _, tb := range clean.Tables {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(landing.Stream(p, tb))})
		if err != nil {
			t.Fatalf("after Check: %v", err)
		}
		if st := out.StreamDescriptionSummary.StreamStatus; st != ktypes.StreamStatusActive {
			t.Fatalf("stream %s is %s after Check, want ACTIVE", landing.Stream(p, tb), st)
		}
	}
	again, err := emit.OpenSink(ctx, srv.URL+"/prod/streams/", emit.SinkOptions{Prefix: p, Create: true})
	if err != nil {
		t.Fatalf("a second Check of the existing streams: %v", err)
	}
	again.Sink.Close()
	src, err := emit.NewSampleSource(3, 200)
	if err != nil {
		t.Fatal(err)
	}
	const count = 150
	if s := runEmitter(t, ctx, src, []emit.Target{tg}, emit.Options{Count: count, Seed: 6}); s.Sent() != 3*count {
		t.Fatalf("stats %+v", s)
	}
	all, _ := readStreams(t, c, p, false)
	compare(t, all, expected(t, 3, sample.Posts(6, 200, count)))
}

// kinesisClient is a client of the local Kinesis (startKinesis).
func kinesisClient(t testing.TB) *kinesis.Client {
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return kinesis.NewFromConfig(cfg)
}

// readStreams reads every shard of the streams of prefix p back: the user
// records, and the number of Kinesis records, each of which must be
// KPL-aggregated or not as aggregate says.
func readStreams(t testing.TB, c *kinesis.Client, p string, aggregate bool) (all []got, kinesisRecords int) {
	ctx := t.Context()
	for _, tb := range clean.Tables {
		stream := landing.Stream(p, tb)
		shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
		if err != nil {
			t.Fatal(err)
		}
		for _, sh := range shards.Shards {
			it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			iter := it.ShardIterator
			for iter != nil {
				out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range out.Records {
					kinesisRecords++
					if kinesisx.IsAggregated(r.Data) != aggregate {
						t.Fatalf("record %s: aggregated %v, want %v", aws.ToString(r.SequenceNumber), !aggregate, aggregate)
					}
					users, err := kinesisx.Deaggregate(kinesisx.Record{Sequence: aws.ToString(r.SequenceNumber), PartitionKey: aws.ToString(r.PartitionKey), Data: r.Data})
					if err != nil {
						t.Fatal(err)
					}
					for _, u := range users {
						all = append(all, got{tb, u.PartitionKey, decoded(t, u.Data)})
					}
				}
				if len(out.Records) == 0 {
					break
				}
				iter = out.NextShardIterator
			}
		}
	}
	return all, kinesisRecords
}

// TestShutdown cancels a run that has no count in the middle: the run ends
// without error, and every record reported sent is in the broker.
func TestShutdown(t *testing.T) {
	brokers := startKafka(t)
	p := prefix(t)
	tg := openSink(t, "kafka://"+brokers[0], p, true)
	src, err := emit.NewSampleSource(1, 2000)
	if err != nil {
		t.Fatal(err)
	}
	e, err := emit.New(src, []emit.Target{tg}, emit.Options{BatchRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- e.Run(ctx) }()
	for e.Stats().Sent() < 3000 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
	s := e.Stats()
	if s.Failed() != 0 {
		t.Fatalf("failed after cancel: %+v", s)
	}
	read := consumeKafka(t, brokers, p)
	var per emit.TableCounts
	for _, g := range read {
		switch g.Table {
		case clean.TablePin:
			per.Pin++
		case clean.TableGeo:
			per.Geo++
		case clean.TableUser:
			per.User++
		}
	}
	if per != s.Targets[0].Sent {
		t.Fatalf("broker holds %+v, reported sent %+v", per, s.Targets[0].Sent)
	}
	if s.Rows*3 != s.Sent() {
		t.Errorf("rows handed over %d, records sent %d: a batch was dropped", s.Rows, s.Sent())
	}
}

// TestBadConfig: every misconfiguration is one line naming what is wrong.
func TestBadConfig(t *testing.T) {
	dsn := mysqlDSN(t)
	brokers := startKafka(t)
	startKinesis(t)
	ctx := t.Context()
	db := openDB(t, dsn)
	broken := sample.WithSuffix("nocol" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36))
	if err := sample.CreateTables(ctx, db, broken); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sample.DropTables(context.Background(), db, broken) })
	if _, err := db.ExecContext(ctx, "ALTER TABLE `"+broken.Geo+"` DROP COLUMN country"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, to, want string
		tables               sample.Tables
	}{
		{"unreachable db", "mysql://root@tcp(127.0.0.1:1)/test", "", "unreachable", sample.DefaultTables},
		{"unknown table", "mysql://" + dsn, "", "table nosuch_pin does not exist", sample.Tables{Pin: "nosuch_pin", Geo: "nosuch_geo", User: "nosuch_user"}},
		{"missing column", "mysql://" + dsn, "", `has no column "country"`, broken},
		{"unreachable broker", "", "kafka://127.0.0.1:1", "no Kafka broker answers at 127.0.0.1:1", sample.Tables{}},
		{"missing topic", "", "kafka://" + brokers[0], "does not exist", sample.Tables{}},
		{"missing stream", "", "kinesis://", "kinesis stream streaming-nostream", sample.Tables{}},
		{"unknown scheme", "", "ftp://x/", "unknown scheme", sample.Tables{}},
		{"http without kind", "", "http://127.0.0.1:1/x/", "ends in /topics/", sample.Tables{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.from != "" {
				_, _, err = emit.OpenSource(ctx, tc.from, emit.SourceOptions{Tables: tc.tables})
			} else {
				pre := "nostream"
				_, err = emit.OpenSink(ctx, tc.to, emit.SinkOptions{Prefix: pre})
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: want one line containing %q", err, tc.want)
			}
		})
	}
}

// TestReadCreds reads the original's credentials file and warns when it is
// readable by others.
func TestReadCreds(t *testing.T) {
	tests := []struct {
		name, body string
		mode       uint32
		want       string
		warn       bool
	}{
		{"plain", "RDS_HOST: db.example.com\nRDS_PASSWORD: s3cret\nRDS_USER: admin\nRDS_DATABASE: pinterest_data\nRDS_PORT: 3306\n", 0o600,
			"admin:s3cret@tcp(db.example.com:3306)/pinterest_data", false},
		{"quoted, no port, readable", "# creds\nRDS_HOST: 'h'\nRDS_PASSWORD: \"p:w#1\"\nRDS_USER: u\nRDS_DATABASE: d\n", 0o644,
			"u:p:w#1@tcp(h:3306)/d", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := t.TempDir() + "/db_creds.yml"
			if err := writeFile(path, tc.body, tc.mode); err != nil {
				t.Fatal(err)
			}
			dsn, warning, err := emit.ReadCreds(path)
			if err != nil {
				t.Fatal(err)
			}
			if dsn != tc.want {
				t.Errorf("dsn %q, want %q", dsn, tc.want)
			}
			if (warning != "") != tc.warn {
				t.Errorf("warning %q, want one: %v", warning, tc.warn)
			}
		})
	}
}

// TestReadCredsDefault checks the files ReadCreds looks for when given none:
// the original's db_creds.yaml first, then db_creds.yml.
func TestReadCredsDefault(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, _, err := emit.ReadCreds(""); err == nil || !strings.Contains(err.Error(), "db_creds.yaml") {
		t.Fatalf("no file: err = %v, want one naming db_creds.yaml", err)
	}
	body := func(host string) string {
		return "RDS_HOST: " + host + "\nRDS_USER: u\nRDS_DATABASE: d\n"
	}
	if err := writeFile("db_creds.yml", body("yml"), 0o600); err != nil {
		t.Fatal(err)
	}
	if dsn, _, err := emit.ReadCreds(""); err != nil || dsn != "u@tcp(yml:3306)/d" {
		t.Fatalf("only db_creds.yml: %q, %v", dsn, err)
	}
	if err := writeFile("db_creds.yaml", body("yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	if dsn, _, err := emit.ReadCreds(""); err != nil || dsn != "u@tcp(yaml:3306)/d" {
		t.Fatalf("both: %q, %v; want the original's db_creds.yaml", dsn, err)
	}
}

func TestParseMySQLURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"root@tcp(127.0.0.1:3306)/test", "root@tcp(127.0.0.1:3306)/test"},
		{"u:p@db:3307/src", "u:p@tcp(db:3307)/src"},
		{"u@db/src", "u@tcp(db:3306)/src"},
	}
	for _, tc := range tests {
		got, err := emit.ParseMySQLURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseMySQLURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
