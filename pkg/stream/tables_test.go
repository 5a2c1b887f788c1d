package stream_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/kinesisfake"
	"github.com/pinpipe/pinpipe/internal/tabletest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/stream"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// fakeStream is a Kinesis stream of the fake, with what was put in it.
type fakeStream struct {
	t     *testing.T
	fake  *kinesisfake.Fake
	name  string
	valid map[string]bool // sequence -> true for a record that cleans to a row, false for one that is rejected
	n     int
}

func newFakeStream(t *testing.T, shards int) *fakeStream {
	f, err := kinesisfake.New(kinesisfake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeStream{t: t, fake: f, name: "streaming-t-pin", valid: map[string]bool{}}
	if err := f.CreateStream(s.name, shards); err != nil {
		t.Fatal(err)
	}
	return s
}

// next is the next pin record: one in 10 is not JSON (rejected), one in 25
// is blank.
func (s *fakeStream) next() (i int, data string, valid bool) {
	i = s.n
	s.n++
	data = fmt.Sprintf(`{"index":%d,"unique_id":"u%d","category":"c%d"}`, i, i, i%7)
	valid = true
	switch {
	case i%25 == 24:
		data = "   "
	case i%10 == 9:
		data, valid = fmt.Sprintf("not json %d", i), false
	}
	return i, data, valid
}

// put puts n pin records (next).
func (s *fakeStream) put(n int) {
	s.t.Helper()
	for range n {
		i, data, valid := s.next()
		_, seq, err := s.fake.Put(s.name, fmt.Sprint(i), []byte(data))
		if err != nil {
			s.t.Fatal(err)
		}
		if data != "   " {
			s.valid[seq] = valid
		}
	}
}

// putAggregated puts n pin records (next) in KPL-aggregated Kinesis
// records of 1 to 6 user records each, every fifth Kinesis record a plain
// one; and after every seventh, a Kinesis record that claims aggregation but
// does not unpack (a bad digest, or too short), which is rejected whole.
func (s *fakeStream) putAggregated(n int) {
	s.t.Helper()
	var a kinesisx.Aggregator
	for k := 0; n > 0; k++ {
		if k%7 == 6 {
			bad := []byte{0xF3, 0x89, 0x9A, 0xC2, 1, 2, 3} // too short
			if k%14 == 6 {
				a.Reset()
				a.Add("bad", []byte(`{"index":1,"unique_id":"bad"}`))
				bad = a.Bytes()
				bad[len(bad)-1]++ // a bad digest
			}
			s.putData("bad", bad, false)
		}
		if k%5 == 4 {
			s.put(1)
			n--
			continue
		}
		a.Reset()
		var valid []*bool // nil for a blank record
		for range min(n, 1+k%6) {
			i, data, ok := s.next()
			a.Add(fmt.Sprint(i), []byte(data))
			if data == "   " {
				valid = append(valid, nil)
			} else {
				valid = append(valid, &ok)
			}
		}
		n -= a.Len()
		seq := s.putData(fmt.Sprint(k), a.Bytes(), false)
		delete(s.valid, seq)
		for j, v := range valid {
			if v != nil {
				s.valid[kinesisx.Record{Sequence: seq, Aggregated: true, SubSequence: int64(j)}.ID()] = *v
			}
		}
	}
}

// putData puts one Kinesis record, which must be stored as a row (valid) or
// a reject; it returns its sequence number.
func (s *fakeStream) putData(key string, data []byte, valid bool) string {
	s.t.Helper()
	_, seq, err := s.fake.Put(s.name, key, data)
	if err != nil {
		s.t.Fatal(err)
	}
	s.valid[seq] = valid
	return seq
}

// check reads the tables back and requires every valid record as exactly one
// row, and every rejected one as exactly one reject.
func (s *fakeStream) check(cat *tables.Catalog) bool {
	s.t.Helper()
	_, src := tabletest.Pins(s.t, cat, tables.StreamDef(clean.TablePin, true))
	rej := tabletest.Rejected(s.t, cat, tables.StreamQuarantineDef())
	seen := map[string]int{}
	for _, r := range src {
		seen[r.Sequence]++
	}
	for _, r := range rej {
		seen[r.Sequence]++
		if s.valid[r.Sequence] {
			s.t.Errorf("record %s is rejected, want a row", r.Sequence)
		}
	}
	var missing, twice int
	for seq := range s.valid {
		switch seen[seq] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	if missing > 0 || twice > 0 || len(seen) != len(s.valid) {
		var dups []string
		for seq, n := range seen {
			if n > 1 {
				dups = append(dups, fmt.Sprintf("%s (valid %v) x%d", seq, s.valid[seq], n))
			}
		}
		s.t.Errorf("%d records put: %d missing, %d more than once %v, %d unknown", len(s.valid), missing, twice, dups, len(seen)-len(s.valid)+missing)
		return false
	}
	return true
}

func runJob(t *testing.T, s *fakeStream, cat *tables.Catalog, o stream.Options) (*stream.Job, func()) {
	t.Helper()
	job, stop := startJob(t, s, cat, o)
	return job, func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// startJob runs a job; stop stops it and returns Run's error.
func startJob(t *testing.T, s *fakeStream, cat *tables.Catalog, o stream.Options) (*stream.Job, func() error) {
	t.Helper()
	o.Streams = map[clean.Table]string{clean.TablePin: s.name}
	o.Tables = cat
	o.SourceColumns = true
	if o.MinInterval == 0 {
		o.MinInterval = time.Millisecond
	}
	if o.CommitInterval == 0 {
		o.CommitInterval = 5 * time.Millisecond
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Hour
	}
	o.Maintenance.Interval = -1
	job, err := stream.New(s.fake, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- job.Run(ctx) }()
	return job, func() error {
		cancel()
		return <-done
	}
}

// waitRead waits until the job has read n records.
func waitRead(t *testing.T, job *stream.Job, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for job.Stats().RecordsIn < n {
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d records after 30s", job.Stats().RecordsIn, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTablesExactlyOnce(t *testing.T) {
	s := newFakeStream(t, 2)
	cat := tabletest.OpenSQLite(t, t.TempDir())
	s.put(300)
	job, stop := runJob(t, s, cat, stream.Options{FlushRecords: 40})
	waitRead(t, job, 300)
	stop() // the partial flushes are committed at shutdown
	s.check(cat)
	st := job.Stats()
	if st.RowsOut+st.Rejected+st.Blank != 300 {
		t.Errorf("stats %+v: rows, rejects and blanks are not the 300 records", st)
	}
	// A restart reads on from the committed positions.
	s.put(123)
	job, stop = runJob(t, s, cat, stream.Options{FlushRecords: 7})
	waitRead(t, job, 123)
	stop()
	s.check(cat)
	if got := job.Stats().RecordsIn; got != 123 {
		t.Errorf("the restart read %d records, want the 123 new ones", got)
	}
	q := job.QualityReport().Quality.Pin
	if q.RowsRead != int64(len(s.valid)) {
		t.Errorf("quality: %d rows read, want %d", q.RowsRead, len(s.valid))
	}
}

// TestTablesAggregated: KPL-aggregated records give each user record a row
// (or a reject) once, named by sequence and sub-sequence number; a record
// that does not unpack is rejected whole, with its reason, and counted in
// the quality report; the records metrics count user records.
func TestTablesAggregated(t *testing.T) {
	s := newFakeStream(t, 2)
	cat := tabletest.OpenSQLite(t, t.TempDir())
	s.putAggregated(200)
	users := int64(len(s.valid)) + 200/25 // the blank ones are read, not stored
	m, err := stream.NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	job, stop := runJob(t, s, cat, stream.Options{FlushRecords: 4, Metrics: m})
	waitRead(t, job, users)
	stop()
	s.check(cat)
	st := job.Stats()
	if st.RecordsIn != users || st.RowsOut+st.Rejected+st.Blank != users {
		t.Errorf("stats %+v: want %d user records in, each a row, a reject or a blank", st, users)
	}
	if got := testutilValue(m.RecordsIn.WithLabelValues("pin")); got != float64(users) {
		t.Errorf("records_in_total = %v, want the %d user records", got, users)
	}
	var bad int64
	for _, r := range tabletest.Rejected(t, cat, tables.StreamQuarantineDef()) {
		if r.Reason != string(clean.ReasonKPLChecksum) && r.Reason != string(clean.ReasonKPLMalformed) {
			continue
		}
		bad++
		raw, err := base64.StdEncoding.DecodeString(r.Raw)
		if err != nil || !kinesisx.IsAggregated(raw) || strings.Contains(r.Sequence, ":") || !strings.Contains(r.Detail, "KPL") {
			t.Errorf("reject %+v: want the whole record in base64, its sequence number, a detail naming KPL", r)
		}
		if _, err := kinesisx.Deaggregate(kinesisx.Record{Data: raw}); err == nil || !strings.Contains(r.Detail, err.Error()) {
			t.Errorf("reject %s: detail %q, want the error %v", r.Sequence, r.Detail, err)
		}
	}
	q := job.QualityReport().Quality.Pin
	if q.RowsRead != int64(len(s.valid)) || bad == 0 || q.Rejected[clean.ReasonKPLChecksum]+q.Rejected[clean.ReasonKPLMalformed] != bad ||
		q.Rejected[clean.ReasonKPLChecksum] == 0 || q.Rejected[clean.ReasonKPLMalformed] == 0 {
		t.Errorf("quality: %d rows read, rejected %v; want %d rows read and %d KPL rejects of both reasons", q.RowsRead, q.Rejected, len(s.valid), bad)
	}
	// A restart reads on from the committed positions.
	s.putAggregated(50)
	job, stop = runJob(t, s, cat, stream.Options{FlushRecords: 3})
	waitRead(t, job, int64(len(s.valid))+250/25-users)
	stop()
	s.check(cat)
}

func TestTablesLatestStartIsCommitted(t *testing.T) {
	s := newFakeStream(t, 1)
	cat := tabletest.OpenSQLite(t, t.TempDir())
	s.put(10) // before the start: not read
	for seq := range s.valid {
		delete(s.valid, seq)
	}
	job, stop := runJob(t, s, cat, stream.Options{Start: kinesisx.Position{Type: kinesisx.Latest}})
	// Wait until the start is committed, then stop before any record.
	tbl, err := cat.Ensure(t.Context(), tables.StreamDef(clean.TablePin, true))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for tbl.Properties()[stream.PositionsKey] == "" {
		if time.Now().After(deadline) {
			t.Fatal("no start position committed after 30s")
		}
		time.Sleep(5 * time.Millisecond)
		if err := tbl.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	_ = job
	// Records put while no job runs are read by the next one: it does not
	// resolve LATEST again.
	s.put(20)
	job, stop = runJob(t, s, cat, stream.Options{Start: kinesisx.Position{Type: kinesisx.Latest}})
	waitRead(t, job, 20)
	stop()
	s.check(cat)
}

var _ = slices.Sort[[]int]
