package batch_test

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"

	"github.com/pinpipe/pinpipe/internal/tabletest"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// staged lands in under a staging directory and returns the store and its
// objects: a test copies them to the input a few at a time.
func staged(t *testing.T, in topics, layout batchtest.Layout) (objstore.Bucket, []objstore.Object) {
	t.Helper()
	st := openStore(t, filepath.Join(t.TempDir(), "staging"), objstore.Options{})
	land(t, st, in, layout)
	objs, err := st.List(t.Context(), "")
	check(t, "listing the staging store", err)
	return st, objs
}

// copyObjects copies the objects keys of src to dst.
func copyObjects(t *testing.T, src, dst objstore.Bucket, objs []objstore.Object) {
	t.Helper()
	for _, o := range objs {
		rc, err := src.Get(t.Context(), o.Key)
		check(t, o.Key, err)
		data, err := io.ReadAll(rc)
		rc.Close()
		check(t, o.Key, err)
		check(t, o.Key, dst.Put(t.Context(), o.Key, strings.NewReader(string(data))))
	}
}

func day(i int) string { return fmt.Sprintf("2026-11-%02d", i) }

// topicPart returns part i of runs of each topic's objects (objs sort by
// topic): each run gets new objects of every topic.
func topicPart(objs []objstore.Object, runs, i int) []objstore.Object {
	byTopic := map[string][]objstore.Object{}
	var topics []string
	for _, o := range objs {
		topic, _, _ := strings.Cut(o.Key, "/")
		if byTopic[topic] == nil {
			topics = append(topics, topic)
		}
		byTopic[topic] = append(byTopic[topic], o)
	}
	var part []objstore.Object
	for _, topic := range topics {
		os := byTopic[topic]
		part = append(part, os[i*len(os)/runs:(i+1)*len(os)/runs]...)
	}
	return part
}

// fullRun runs --full over everything in input into a warehouse of its own.
func fullRun(t *testing.T, input objstore.Bucket, date string) (tables.Config, batch.Result) {
	t.Helper()
	cfg := tablesAt(t, filepath.Join(t.TempDir(), "full"))
	res := runJob(t, t.Context(), batch.Config{Input: input.URL(""), Prefix: testPrefix, Tables: cfg, Date: date, Full: true})
	return cfg, res
}

// sameAsFull requires the state and insight tables of cfg for date to equal
// those of one --full run over everything in input.
func sameAsFull(t *testing.T, input objstore.Bucket, cfg tables.Config, date string) {
	t.Helper()
	fullCfg, _ := fullRun(t, input, date)
	sameState(t, readOutput(t, fullCfg, date), readOutput(t, cfg, date))
}

// allQuarantine reads the rejected lines of batch_quarantine, every date.
func allQuarantine(t *testing.T, cfg tables.Config) []string {
	cat := tabletest.Open(t, cfg)
	defer cat.Close()
	return rejectedKeys(tabletest.Rejected(t, cat, tables.BatchQuarantineDef()))
}

// sameState compares the clean tables (rows and origins) and insight
// tables of two outputs.
func sameState(t *testing.T, want, got output) {
	t.Helper()
	if !reflect.DeepEqual(got.pins, want.pins) || !reflect.DeepEqual(got.geos, want.geos) || !reflect.DeepEqual(got.users, want.users) {
		t.Errorf("clean tables differ: %d/%d/%d rows, want %d/%d/%d", len(got.pins), len(got.geos), len(got.users), len(want.pins), len(want.geos), len(want.users))
	}
	for _, tb := range clean.Tables {
		if !slices.Equal(got.origins[tb], want.origins[tb]) {
			t.Errorf("origins of %s differ", tb)
		}
	}
	if !reflect.DeepEqual(got.insights, want.insights) {
		t.Errorf("insights differ:\n got %v\nwant %v", got.insights, want.insights)
	}
}

// TestIncrementalEqualsFull lands generated dirty data in five parts, in a
// random order (so objects land after objects of higher offsets of their
// partition, leaving gaps that later runs fill), with a daily run after each
// part. Every object is read exactly once across the runs, and the state,
// the last day's insight tables, the quarantine of all days and the
// running quality totals equal those of one --full run over all objects.
func TestIncrementalEqualsFull(t *testing.T) {
	in := generated(3000, 700)
	src, objs := staged(t, in, batchtest.Layout{PerObject: 17, Partitions: 3})
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
	dst := openStore(t, filepath.Join(t.TempDir(), "topics"), objstore.Options{})
	cfg := tablesAt(t, filepath.Join(t.TempDir(), "out"))

	// More runs than a bucket may have files (TestBucketsCompacted makes
	// sure they are compacted: here most runs touch every file anyway).
	runs := batch.MaxBucketFiles + 4
	if testing.Short() {
		runs = 5
	}
	var read int64
	var gaps int
	var last batch.Result
	for i := range runs {
		copyObjects(t, src, dst, objs[i*len(objs)/runs:(i+1)*len(objs)/runs])
		last = runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(i + 1)})
		if last.Full != (i == 0) {
			t.Errorf("run %d: Full = %v", i+1, last.Full)
		}
		read += last.Objects()
		gaps += len(last.Gaps)
	}
	// One more run with nothing new reads nothing.
	again := runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(runs)})
	if again.Objects() != 0 || again.Lines() != 0 {
		t.Errorf("a run with nothing new read %d objects, %d lines", again.Objects(), again.Lines())
	}
	if read != int64(len(objs)) {
		t.Errorf("the runs read %d objects in all, want each of the %d once", read, len(objs))
	}
	if gaps == 0 {
		t.Error("no run saw a gap: the test does not land objects out of order")
	}

	fullCfg, full := fullRun(t, dst, day(runs))
	got, want := readOutput(t, cfg, day(runs)), readOutput(t, fullCfg, day(runs))
	sameState(t, want, got)
	for _, tb := range clean.Tables {
		n := 0
		for _, f := range got.files {
			if strings.HasPrefix(f, string(tb)+"/") {
				n++
			}
		}
		if limit := tables.StateBuckets * batch.MaxBucketFiles; n > limit {
			t.Errorf("%s has %d files after %d runs, want at most %d (buckets are compacted)", tb, n, runs, limit)
		}
	}
	if !reflect.DeepEqual(again.Totals, full.Quality) {
		t.Errorf("running totals differ from the full run's quality:\n got %+v\nwant %+v", again.Totals, full.Quality)
	}
	if g, w := allQuarantine(t, cfg), quarantineKeys(want); !slices.Equal(g, w) {
		t.Errorf("quarantine of the runs: %d lines, want the full run's %d", len(g), len(w))
	}
	if len(want.pins) == 0 || len(quarantineKeys(want)) == 0 {
		t.Fatal("the data has no pins or no rejected lines: the test checks nothing")
	}
}

// TestLateAndRelandedObjects: an object that lands after a later one of its
// partition is read by the next run, exactly once; an object stored again
// under its key (a sink re-cutting an object it had not committed) is read
// again; nothing else is.
func TestLateAndRelandedObjects(t *testing.T) {
	topic := landing.Topic(testPrefix, clean.TablePin)
	put := func(b objstore.Bucket, start int64, inds ...int) objstore.Object {
		var sb strings.Builder
		for _, i := range inds {
			sb.WriteString(pinLine(i, "art", fmt.Sprint("p", start), "5") + "\n")
		}
		key := landing.Key{Topic: topic, Partition: 0, Start: start}.String()
		check(t, key, b.Put(t.Context(), key, strings.NewReader(sb.String())))
		return objstore.Object{Key: key}
	}
	dst := openStore(t, filepath.Join(t.TempDir(), "topics"), objstore.Options{})
	cfg := tablesAt(t, filepath.Join(t.TempDir(), "out"))
	run := func(d int) batch.Result {
		return runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(d)})
	}
	put(dst, 0, 1, 2)
	put(dst, 4, 1, 3) // offsets 2-3 not landed yet
	res := run(1)
	if res.Counts[clean.TablePin].Objects != 2 || len(res.Gaps) != 1 || res.Gaps[0].From != 2 || res.Gaps[0].To != 4 {
		t.Fatalf("run 1: %d objects, gaps %v; want 2 and [2, 4)", res.Counts[clean.TablePin].Objects, res.Gaps)
	}
	put(dst, 2, 2, 4) // the late object: offsets 2, 3
	res = run(2)
	if res.Counts[clean.TablePin].Objects != 1 || len(res.Gaps) != 0 {
		t.Fatalf("run 2: %d objects, gaps %v; want the late object only, no gap", res.Counts[clean.TablePin].Objects, res.Gaps)
	}
	o := readOutput(t, cfg, day(2))
	// ind 1: offsets 0 and 4 -> 4 (object +4); ind 2: offsets 1 and 2 -> 2 (the late object).
	if len(o.pins) != 4 || o.pins[0].PosterName.V != "p4" || o.pins[1].PosterName.V != "p2" {
		t.Errorf("pins %+v: want ind 1 from the object at 4 and ind 2 from the late one at 2", o.pins)
	}
	if res := run(3); res.Objects() != 0 {
		t.Errorf("run 3 read %d objects, want none", res.Objects())
	}
	put(dst, 4, 1, 3, 5) // stored again with one more record
	res = run(4)
	if res.Counts[clean.TablePin].Objects != 1 || res.Counts[clean.TablePin].Lines != 3 {
		t.Errorf("run 4: %+v, want the object stored again, read once (3 lines)", res.Counts[clean.TablePin])
	}
	if o := readOutput(t, cfg, day(4)); len(o.pins) != 5 {
		t.Errorf("%d pins after the object was stored again, want 5", len(o.pins))
	}
}

// errCrash stands for a process killed before a commit.
var errCrash = errors.New("crashed before this commit")

// TestCrashBetweenSteps stops a run before each of its commits in turn (as
// a kill would), then runs the date again: the tables end as after two
// runs that did not stop, and the running totals count every line once.
func TestCrashBetweenSteps(t *testing.T) {
	in := generated(600, 300)
	src, objs := staged(t, in, batchtest.Layout{PerObject: 20, Partitions: 2})
	half := len(objs) / 2
	ref := func() (output, batch.Result, tables.Config) {
		dst := openStore(t, filepath.Join(t.TempDir(), "topics"), objstore.Options{})
		cfg := tablesAt(t, filepath.Join(t.TempDir(), "out"))
		copyObjects(t, src, dst, objs[:half])
		runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(1)})
		copyObjects(t, src, dst, objs[half:])
		res := runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(2)})
		return readOutput(t, cfg, day(2)), res, cfg
	}
	want, wantRes, refCfg := ref()
	wantQ := allQuarantine(t, refCfg)
	if len(wantQ) == 0 {
		t.Fatal("no rejected lines: the quarantine is not checked")
	}
	stops := []string{"pin", "geo", "user", "popular_category_by_country", "users_joined_by_year", tables.BatchQuarantine}
	if testing.Short() {
		stops = []string{"geo", tables.BatchQuarantine} // between clean tables; after the insight tables
	}
	for _, stop := range stops {
		t.Run(stop, func(t *testing.T) {
			dst := openStore(t, filepath.Join(t.TempDir(), "topics"), objstore.Options{})
			cfg := tablesAt(t, filepath.Join(t.TempDir(), "out"))
			copyObjects(t, src, dst, objs[:half])
			runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(1)})
			copyObjects(t, src, dst, objs[half:])
			crashing := cfg
			crashing.CommitHook = func(table string, commit func() error) error {
				if strings.HasSuffix(table, "."+stop) {
					return errCrash
				}
				return commit()
			}
			_, err := batch.Run(t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: crashing, Date: day(2)})
			if !errors.Is(err, errCrash) {
				t.Fatalf("the stopped run: err = %v", err)
			}
			res := runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(2)})
			got := readOutput(t, cfg, day(2))
			sameState(t, want, got)
			if !reflect.DeepEqual(res.Totals, wantRes.Totals) {
				t.Errorf("running totals:\n got %+v\nwant %+v", res.Totals, wantRes.Totals)
			}
			if g := allQuarantine(t, cfg); !slices.Equal(g, wantQ) {
				t.Errorf("quarantine: %d lines, want %d, each once", len(g), len(wantQ))
			}
		})
	}
}

// TestStateOfAnOlderVersion: clean tables made by an older pinpipe (no
// origin columns, no buckets) or progress of another version are refused
// with an error that says what to do; --full rebuilds them.
func TestStateOfAnOlderVersion(t *testing.T) {
	in, cfg := landedAt(t, handBuilt(), batchtest.Layout{PerObject: 3})
	cat := tabletest.Open(t, cfg)
	// The clean table pin as version 1 made it.
	_, err := cat.Ensure(t.Context(), tables.Def{Name: string(clean.TablePin), Columns: parquetio.PinSchema(false)})
	check(t, "a version 1 pin table", err)
	cat.Close()

	_, err = batch.Run(t.Context(), batch.Config{Input: in.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(1)})
	if !errors.Is(err, tables.ErrOldVersion) || !strings.Contains(err.Error(), "--full") {
		t.Fatalf("run over a version 1 table: err = %v, want ErrOldVersion and a hint to run with --full", err)
	}
	runJob(t, t.Context(), batch.Config{Input: in.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(1), Full: true})
	want := fileRun(t, handBuilt(), batchtest.Layout{})
	if got := readOutput(t, cfg, day(1)); !reflect.DeepEqual(got.pins, want.pins) {
		t.Errorf("pins after --full differ from a fresh run's")
	}

	// Progress of a newer version.
	cat = tabletest.Open(t, cfg)
	pin, err := cat.Ensure(t.Context(), tables.CleanDef(clean.TablePin))
	check(t, "pin", err)
	check(t, "setting progress", pin.Commit(t.Context(), tables.Change{Properties: map[string]string{batch.PropProgress: `{"version":99}`}}))
	cat.Close()
	_, err = batch.Run(t.Context(), batch.Config{Input: in.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(2)})
	if err == nil || !strings.Contains(err.Error(), "version 99") || !strings.Contains(err.Error(), "--full") {
		t.Fatalf("run over progress of version 99: err = %v, want a clear error", err)
	}
	runJob(t, t.Context(), batch.Config{Input: in.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(2), Full: true})
}

// TestDamagedStateFile: a data file of the state that cannot be read (it
// is read while the run reads the new objects) fails the run with an error
// naming the file and --full, before anything is committed; --full then
// rebuilds the state from everything landed.
func TestDamagedStateFile(t *testing.T) {
	src, objs := staged(t, generated(200, 100), batchtest.Layout{PerObject: 5, Partitions: 2})
	dst := openStore(t, filepath.Join(t.TempDir(), "topics"), objstore.Options{})
	cfg := tablesAt(t, filepath.Join(t.TempDir(), "out"))
	copyObjects(t, src, dst, topicPart(objs, 2, 0))
	runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(1)})
	copyObjects(t, src, dst, topicPart(objs, 2, 1))

	cat := tabletest.Open(t, cfg)
	geo, err := cat.Ensure(t.Context(), tables.CleanDef(clean.TableGeo))
	check(t, "geo", err)
	files, err := geo.Files(t.Context())
	check(t, "geo's files", err)
	snap := geo.Iceberg().CurrentSnapshot().SnapshotID
	cat.Close()
	if len(files) == 0 {
		t.Fatal("no state files")
	}
	damaged := files[len(files)/2].Location
	path := strings.TrimPrefix(damaged, "file://")
	check(t, "damaging a state file", os.WriteFile(path, []byte("not a parquet file"), 0o644))

	_, err = batch.Run(t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(2)})
	if err == nil || !strings.Contains(err.Error(), damaged) || !strings.Contains(err.Error(), "--full") {
		t.Fatalf("run over a damaged state file: err = %v, want an error naming %s and --full", err, damaged)
	}
	if got := currentSnapshot(t, cfg, tables.CleanDef(clean.TableGeo)).SnapshotID; got != snap {
		t.Errorf("the failed run committed geo (snapshot %d, was %d)", got, snap)
	}

	runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(2), Full: true})
	sameAsFull(t, dst, cfg, day(2))
}

// TestFirstRunOverAnotherRun: a run that finds no state writes the clean
// tables as --full does, but still commits only over the state it found:
// when another run committed them meanwhile, it fails with
// ErrConcurrentRun and the tables keep the other run's state.
func TestFirstRunOverAnotherRun(t *testing.T) {
	in, cfg := landedAt(t, generated(300, 100), batchtest.Layout{PerObject: 10, Partitions: 2})
	hooked := cfg
	var other sync.Once
	hooked.CommitHook = func(table string, commit func() error) error {
		// Before the first commit of the first run, the other run runs
		// whole; the first run's commits wait for it.
		other.Do(func() {
			runJob(t, t.Context(), batch.Config{Input: in.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(1), RunID: "other"})
		})
		return commit()
	}
	_, err := batch.Run(t.Context(), batch.Config{Input: in.URL(""), Prefix: testPrefix, Tables: hooked, Date: day(1), RunID: "first"})
	if !errors.Is(err, batch.ErrConcurrentRun) {
		t.Fatalf("the first run, over the other's commits: err = %v, want ErrConcurrentRun", err)
	}
	for _, tb := range clean.Tables {
		if id := currentSnapshot(t, cfg, tables.CleanDef(tb)).Summary.Properties[batch.SummaryRunID]; id != "other" {
			t.Errorf("%s holds run %q, want the other run's", tb, id)
		}
	}
	sameAsFull(t, in, cfg, day(1))
}

// TestTwoIncrementalRunsAtOnce: two runs over the same new objects at the
// same time. A table's commit that meets the other run's fails that run
// (ErrConcurrentRun) and commits nothing of it to the table; the next run
// goes on from what was committed. Nothing is counted or kept twice.
func TestTwoIncrementalRunsAtOnce(t *testing.T) {
	in, cfg := landedAt(t, generated(800, 300), batchtest.Layout{PerObject: 25, Partitions: 2})
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = batch.Run(t.Context(), batch.Config{Input: in.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(1), RunID: fmt.Sprint("run-", i)})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, batch.ErrConcurrentRun) {
			t.Errorf("run %d: %v, want success or ErrConcurrentRun", i, err)
		}
	}
	res := runJob(t, t.Context(), batch.Config{Input: in.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(1)})
	fullCfg, full := fullRun(t, in, day(1))
	sameState(t, readOutput(t, fullCfg, day(1)), readOutput(t, cfg, day(1)))
	if !reflect.DeepEqual(res.Totals, full.Quality) {
		t.Errorf("running totals differ from one full run's quality:\n got %+v\nwant %+v", res.Totals, full.Quality)
	}
	if g, w := allQuarantine(t, cfg), quarantineKeys(readOutput(t, fullCfg, day(1))); !slices.Equal(g, w) {
		t.Errorf("quarantine: %d lines, want %d", len(g), len(w))
	}
}

// TestMaintenanceAfterRuns: the maintenance a run does after publishing
// (on the tables as it committed them, several at a time) expires the
// snapshots beyond those kept, and the next run still reads its state. The
// temporary files killed writers left in the warehouse are removed when
// the tables' orphan files are looked for, not at other runs.
func TestMaintenanceAfterRuns(t *testing.T) {
	in := generated(300, 100)
	src, objs := staged(t, in, batchtest.Layout{PerObject: 10, Partitions: 2})
	dst := openStore(t, filepath.Join(t.TempDir(), "topics"), objstore.Options{})
	wh := filepath.Join(t.TempDir(), "out")
	cfg := tablesAt(t, wh)
	// A temporary file of a writer killed two hours ago.
	leftover := func(name string) string {
		p := filepath.Join(wh, tables.DefaultNamespace+".db", "pin", "data", objstore.TempPrefix+name)
		check(t, name, os.MkdirAll(filepath.Dir(p), 0o755))
		check(t, name, os.WriteFile(p, []byte("partial"), 0o644))
		old := time.Now().Add(-2 * time.Hour)
		check(t, name, os.Chtimes(p, old, old))
		return p
	}
	exists := func(p string) bool {
		_, err := os.Stat(p)
		return err == nil
	}
	const runs = 3
	var left []string
	for i := range runs {
		left = append(left, leftover(fmt.Sprint("run-", i)))
		m := tables.Maintenance{SnapshotAge: time.Nanosecond, KeepSnapshots: 1}
		if i == 2 {
			m.OrphanInterval = -1 // look for orphans at every run
		}
		copyObjects(t, src, dst, objs[i*len(objs)/runs:(i+1)*len(objs)/runs])
		runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(i + 1), Maintain: true, Maintenance: m})
		switch i {
		case 0, 2: // orphans never looked for yet, or at every run
			if exists(left[i]) || (i == 2 && exists(left[1])) {
				t.Errorf("run %d looked for orphans but left a killed writer's temporary file", i+1)
			}
		case 1: // orphans looked for by the run before
			if !exists(left[i]) {
				t.Errorf("run %d removed a temporary file, but the tables' orphans were looked for by the run before", i+1)
			}
		}
	}
	cat := tabletest.Open(t, cfg)
	defer cat.Close()
	for _, def := range batch.Defs() {
		tbl, err := cat.Ensure(t.Context(), def)
		check(t, def.Name, err)
		if n := len(tbl.Iceberg().Metadata().Snapshots()); n != 1 {
			t.Errorf("%s keeps %d snapshots after %d runs, want 1", def.Name, n, runs)
		}
	}
	sameAsFull(t, dst, cfg, day(runs))
}

// TestSnapshotsKept: with the default maintenance, every table keeps
// batch.DefaultKeepSnapshots snapshots and at most DefaultSnapshotHeadroom
// more, however young: the metadata each commit parses and rewrites stops
// growing with the runs. The state is still that of one --full run.
func TestSnapshotsKept(t *testing.T) {
	if testing.Short() {
		t.Skip("23 runs")
	}
	src, objs := staged(t, generated(460, 1_000), batchtest.Layout{PerObject: 10, Partitions: 1})
	dst := openStore(t, filepath.Join(t.TempDir(), "topics"), objstore.Options{})
	cfg := tablesAt(t, filepath.Join(t.TempDir(), "out"))
	runs := batch.DefaultKeepSnapshots + batch.DefaultSnapshotHeadroom + 2
	for i := range runs {
		copyObjects(t, src, dst, topicPart(objs, runs, i))
		runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(i + 1), Maintain: true})
	}
	cat := tabletest.Open(t, cfg)
	for _, def := range batch.Defs() {
		tbl, err := cat.Ensure(t.Context(), def)
		check(t, def.Name, err)
		if n := len(tbl.Iceberg().Metadata().Snapshots()); n < batch.DefaultKeepSnapshots || n > batch.DefaultKeepSnapshots+batch.DefaultSnapshotHeadroom {
			t.Errorf("%s keeps %d snapshots after %d runs, want %d to %d", def.Name, n, runs, batch.DefaultKeepSnapshots, batch.DefaultKeepSnapshots+batch.DefaultSnapshotHeadroom)
		}
	}
	cat.Close()
	sameAsFull(t, dst, cfg, day(runs))
}

// TestBucketsCompacted: runs whose rows are new inds touch no file of the
// state, so each adds a file to every bucket its rows fall in; past
// MaxBucketFiles a bucket's smallest files are merged, and the state still
// equals that of one --full run.
func TestBucketsCompacted(t *testing.T) {
	// Posts drawn from a million rows: hardly an ind twice.
	src, objs := staged(t, generated(440, 1_000_000), batchtest.Layout{PerObject: 4, Partitions: 1})
	dst := openStore(t, filepath.Join(t.TempDir(), "topics"), objstore.Options{})
	cfg := tablesAt(t, filepath.Join(t.TempDir(), "out"))
	runs := batch.MaxBucketFiles + 3
	for i := range runs {
		copyObjects(t, src, dst, topicPart(objs, runs, i))
		runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(i + 1)})
	}
	cat := tabletest.Open(t, cfg)
	for _, tb := range clean.Tables {
		tbl, err := cat.Ensure(t.Context(), tables.CleanDef(tb))
		check(t, string(tb), err)
		files, err := tbl.Files(t.Context())
		check(t, string(tb), err)
		if b, n := fullestBucket(files); n > batch.MaxBucketFiles {
			t.Errorf("%s bucket %d has %d files after %d runs, want at most %d", tb, b, n, runs, batch.MaxBucketFiles)
		}
		if len(files) >= runs*tables.StateBuckets {
			t.Errorf("%s has %d files after %d runs: no bucket was compacted", tb, len(files), runs)
		}
	}
	cat.Close()
	sameAsFull(t, dst, cfg, day(runs))
}

// TestReplacedRowsAreDeleted: runs whose rows replace rows of the state
// delete those rows with position deletes instead of rewriting their files:
// every data file of the state stays (no bucket reaches MaxBucketFiles
// here), each bucket keeps at most MaxBucketDeletes delete files, an
// independent Iceberg reader (iceberg-go's scan, which applies the deletes)
// reads one row per ind, the same rows as the state's own reader, and the
// state equals that of one --full run.
func TestReplacedRowsAreDeleted(t *testing.T) {
	// Posts drawn from 2,000 rows: an ind in several runs, but few per file.
	src, objs := staged(t, generated(700, 2_000), batchtest.Layout{PerObject: 5, Partitions: 2})
	dst := openStore(t, filepath.Join(t.TempDir(), "topics"), objstore.Options{})
	cfg := tablesAt(t, filepath.Join(t.TempDir(), "out"))
	runs := batch.MaxBucketDeletes + 2
	if batch.MaxBucketFiles <= runs {
		t.Fatalf("MaxBucketFiles %d: the runs would compact", batch.MaxBucketFiles)
	}
	prev := map[clean.Table][]string{}
	deletes := 0
	for i := range runs {
		copyObjects(t, src, dst, topicPart(objs, runs, i))
		runJob(t, t.Context(), batch.Config{Input: dst.URL(""), Prefix: testPrefix, Tables: cfg, Date: day(i + 1)})
		cat := tabletest.Open(t, cfg)
		for _, tb := range clean.Tables {
			tbl, err := cat.Ensure(t.Context(), tables.CleanDef(tb))
			check(t, string(tb), err)
			files, err := tbl.Files(t.Context())
			check(t, string(tb), err)
			var locs []string
			for _, f := range files {
				locs = append(locs, f.Location)
			}
			for _, loc := range prev[tb] {
				if !slices.Contains(locs, loc) {
					t.Errorf("run %d: %s file %s was rewritten", i+1, tb, path.Base(loc))
				}
			}
			prev[tb] = locs
			dels, err := tbl.DeleteFiles(t.Context())
			check(t, string(tb), err)
			if b, n := fullestBucket(dels); n > batch.MaxBucketDeletes {
				t.Errorf("run %d: %s bucket %d has %d delete files, want at most %d", i+1, tb, b, n, batch.MaxBucketDeletes)
			}
			deletes += len(dels)
		}
		cat.Close()
		got := readOutput(t, cfg, day(i+1))
		scanned := scannedInds(t, cfg)
		for tb, rows := range map[clean.Table][]int64{
			clean.TablePin:  indsOf(got.pins, func(p clean.Pin) int64 { return p.Ind }),
			clean.TableGeo:  indsOf(got.geos, func(g clean.Geo) int64 { return g.Ind }),
			clean.TableUser: indsOf(got.users, func(u clean.User) int64 { return u.Ind }),
		} {
			if !slices.Equal(scanned[tb], rows) {
				t.Errorf("run %d: iceberg-go reads %d rows of %s, the state's reader %d", i+1, len(scanned[tb]), tb, len(rows))
			}
			if len(slices.Compact(slices.Clone(rows))) != len(rows) {
				t.Errorf("run %d: %s holds an ind twice", i+1, tb)
			}
		}
	}
	if deletes == 0 {
		t.Fatal("no run deleted a row: the test checks nothing")
	}
	sameAsFull(t, dst, cfg, day(runs))
}

// scannedInds reads the inds of the clean tables with iceberg-go's scan,
// sorted.
func scannedInds(t *testing.T, cfg tables.Config) map[clean.Table][]int64 {
	t.Helper()
	cat := tabletest.Open(t, cfg)
	defer cat.Close()
	out := map[clean.Table][]int64{}
	for _, tb := range clean.Tables {
		tbl, err := cat.Ensure(t.Context(), tables.CleanDef(tb))
		check(t, string(tb), err)
		at, err := tbl.Iceberg().Scan(table.WithSelectedFields("ind")).ToArrowTable(t.Context())
		check(t, string(tb), err)
		for _, ch := range at.Column(0).Data().Chunks() {
			out[tb] = append(out[tb], ch.(*array.Int64).Int64Values()...)
		}
		at.Release()
		slices.Sort(out[tb])
	}
	return out
}

// fullestBucket returns the bucket holding the most of files, and how many.
func fullestBucket(files []tables.CurrentFile) (bucket int32, n int) {
	per := map[int32]int{}
	for _, f := range files {
		if per[f.Bucket]++; per[f.Bucket] > n {
			bucket, n = f.Bucket, per[f.Bucket]
		}
	}
	return bucket, n
}

// indsOf returns the inds of rows, sorted.
func indsOf[R any](rows []R, ind func(R) int64) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = ind(r)
	}
	slices.Sort(out)
	return out
}
