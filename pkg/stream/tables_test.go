package stream_test

import (
	"context"
	"fmt"
	"slices"
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

// put puts n pin records: one in 10 is not JSON (rejected), one in 25 is blank.
func (s *fakeStream) put(n int) {
	s.t.Helper()
	for range n {
		i := s.n
		s.n++
		data := fmt.Sprintf(`{"index":%d,"unique_id":"u%d","category":"c%d"}`, i, i, i%7)
		valid := true
		switch {
		case i%25 == 24:
			data = "   "
		case i%10 == 9:
			data, valid = fmt.Sprintf("not json %d", i), false
		}
		_, seq, err := s.fake.Put(s.name, fmt.Sprint(i), []byte(data))
		if err != nil {
			s.t.Fatal(err)
		}
		if data != "   " {
			s.valid[seq] = valid
		}
	}
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
