package stream_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/streamtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/sample"
	"github.com/pinpipe/pinpipe/pkg/stream"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// geoRecords returns n dirty geo records and a few blank and rejected ones.
func geoRecords(seed int64, n int) [][]byte {
	g := sample.New(seed)
	out := make([][]byte, 0, n)
	for i := range n {
		switch i % 41 {
		case 5:
			out = append(out, []byte("\t"))
		case 11:
			out = append(out, []byte(`{"ind": 7, "country": " ", "timestamp": null}`))
		case 17:
			out = append(out, []byte(`{"ind": "x", "country": "Chad"}`))
		case 23:
			out = append(out, []byte(`[1, 2]`))
		default:
			_, geo, _ := g.DirtyRecords(i)
			out = append(out, geo)
		}
	}
	return out
}

func expectedGeo(puts []streamtest.Put) clean.TableQuality {
	c := clean.New()
	rows := 0
	for _, p := range puts {
		if _, err := c.Geo(p.Data); err == nil {
			rows++
		}
	}
	q := c.Quality().Geo
	q.RowsWritten = int64(rows)
	return q
}

// TestQualityReport checks the running quality report: exact counts per
// table in the stored report, Job.QualityReport and the nulls metric, and
// the same counts after a restart that reads nothing new.
func TestQualityReport(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis)
	api := kinesisClient(env, env.KinesisEndpoint)
	dir := t.TempDir()
	cat := openPlain(t, dir)
	ps := landing.Stream(uniqueName("t-"), clean.TablePin)
	gs := landing.Stream(uniqueName("t-"), clean.TableGeo)
	createStream(t, api, ps, 2)
	createStream(t, api, gs, 1)
	pins := putAll(t, api, ps, pinRecords(7, 0, 600))
	geos := putAll(t, api, gs, geoRecords(7, 300))

	wantPin := streamtest.ExpectedQuality(pins)
	wantGeo := expectedGeo(geos)
	var ph, unp, miss int64
	for _, q := range []clean.TableQuality{wantPin, wantGeo} {
		for _, n := range q.Nulls {
			ph, unp, miss = ph+n.Placeholder, unp+n.Unparseable, miss+n.Missing
		}
	}
	if ph == 0 || unp == 0 || miss == 0 || len(wantPin.Rejected) < 2 || wantPin.BlankLines == 0 || len(wantGeo.Rejected) < 2 || wantPin.UnknownKeys["poster"] == 0 {
		t.Fatalf("test data too clean: pin %+v, geo %+v", wantPin, wantGeo)
	}

	metrics, err := stream.NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := stream.Options{Streams: map[clean.Table]string{clean.TablePin: ps, clean.TableGeo: gs}, Tables: cat,
		FlushRecords: 70, Metrics: metrics}
	r := startRunning(t, api, opts)
	pr, prj := expected(pins)
	r.waitStored(t, pr+int(wantGeo.RowsWritten), prj+int(wantGeo.RowsRead-wantGeo.RowsWritten))
	r.stop(t)

	check := func(t *testing.T, what string, q clean.Quality) {
		t.Helper()
		if !reflect.DeepEqual(q.Pin, wantPin) {
			t.Errorf("%s: pin\n got %+v\nwant %+v", what, q.Pin, wantPin)
		}
		if !reflect.DeepEqual(q.Geo, wantGeo) {
			t.Errorf("%s: geo\n got %+v\nwant %+v", what, q.Geo, wantGeo)
		}
		if q.User.RowsRead != 0 || len(q.User.Nulls) == 0 {
			t.Errorf("%s: user %+v, want zero counts with every column", what, q.User)
		}
	}
	stored := clean.Quality{Pin: readQuality(t, cat, tables.StreamDef(clean.TablePin, true)),
		Geo: readQuality(t, cat, tables.StreamDef(clean.TableGeo, true))}
	stored.User = clean.NewQuality().User
	check(t, "tables' properties", stored)
	rep := r.job.QualityReport()
	check(t, "QualityReport", rep.Quality)
	if rep.Streams[clean.TableGeo] != gs {
		t.Errorf("report has streams %v, want geo=%s", rep.Streams, gs)
	}
	for col, n := range wantPin.Nulls {
		for cause, want := range map[string]int64{"missing": n.Missing, "placeholder": n.Placeholder, "unparseable": n.Unparseable} {
			if got := testutilValue(metrics.Nulls.WithLabelValues("pin", col, cause)); got != float64(want) {
				t.Errorf("nulls_total{pin,%s,%s} = %v, want %d", col, cause, got, want)
			}
		}
	}

	// Another process reports the same totals, from the tables: no
	// record is read again.
	opts.Metrics = nil
	opts.Tables = openPlain(t, dir)
	r2 := startRunning(t, api, opts)
	deadline := time.Now().Add(30 * time.Second)
	for r2.job.QualityReport().Quality.Pin.RowsRead == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // until Run has loaded the tables
	}
	check(t, "restart QualityReport", r2.job.QualityReport().Quality)
	r2.stop(t)
	if st := r2.job.Stats(); st.RecordsIn != 0 {
		t.Errorf("the restart read %d records again", st.RecordsIn)
	}
}

// TestQualityOfRejectOnlyFlush: a flush whose records are all rejected
// gives the main table no file, so it is not committed to the main table
// (IdleCommit); the quality of those records goes with the main table's
// next flush, not lost with the flushed buffer.
func TestQualityOfRejectOnlyFlush(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis)
	api := kinesisClient(env, env.KinesisEndpoint)
	cat := openPlain(t, t.TempDir())
	gs := landing.Stream(uniqueName("t-"), clean.TableGeo)
	createStream(t, api, gs, 1)
	opts := stream.Options{Streams: map[clean.Table]string{clean.TableGeo: gs}, Tables: cat, FlushRecords: 5}
	r := startRunning(t, api, opts)
	valid := geoRecords(9, 10)
	first := putAll(t, api, gs, valid[:5])
	r.waitStored(t, 5, 0) // a first flush, committed to the main table
	bad := putAll(t, api, gs, [][]byte{[]byte(`{"ind": "x"}`), []byte(`[1]`), []byte(`{`), []byte(`{"ind": "y"}`), []byte(`"s"`)})
	r.waitStored(t, 5, 5) // the quarantine holds them: that flush is done
	good := putAll(t, api, gs, valid[6:])
	all := append(append(first, bad...), good...)
	want := expectedGeo(all)
	r.waitStored(t, int(want.RowsWritten), int(want.RowsRead-want.RowsWritten))
	r.stop(t)
	if got := readQuality(t, cat, tables.StreamDef(clean.TableGeo, true)); !reflect.DeepEqual(got, want) {
		t.Errorf("geo quality\n got %+v\nwant %+v", got, want)
	}
}
