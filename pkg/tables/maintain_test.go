package tables

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// commitPins commits n files of 2026-12-01 to tbl, file i (f0, f1, ...)
// holding rows pins from i*10, each in a snapshot of its own that replaces
// the day or, with !replace, adds to it. It returns the files' paths and
// the snapshots' ids.
func commitPins(t *testing.T, tbl *Table, n, rows int, replace bool) (paths []string, ids []int64) {
	t.Helper()
	for i := range n {
		f := writePins(t, tbl, "2026-12-01", fmt.Sprint("f", i, ".parquet"), pins(i*10, rows))
		ch := Change{Add: []File{f}}
		if replace {
			ch.ReplaceDay = "2026-12-01"
		}
		if err := tbl.Commit(t.Context(), ch); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, strings.TrimPrefix(f.Location, "file://"))
		ids = append(ids, tbl.Iceberg().CurrentSnapshot().SnapshotID)
	}
	return paths, ids
}

// TestMaintain expires old snapshots (keeping the newest) and deletes the
// files no kept snapshot lists once old enough, and nothing a reader of the
// current snapshot needs.
func TestMaintain(t *testing.T) {
	ctx := t.Context()
	c, tbl := pinTable(t)
	// Ten snapshots, each replacing the day: only the last one's file is live.
	commitPins(t, tbl, 10, 3, true)
	// An orphan: written, never committed (a failed commit's file).
	orphan := writePins(t, tbl, "2026-12-01", "orphan.parquet", pins(100, 1))
	// A young orphan: it could still be committed.
	young := writePins(t, tbl, "2026-12-01", "young.parquet", pins(200, 1))
	old := time.Now().Add(-48 * time.Hour)
	for _, f := range []File{orphan} {
		p := strings.TrimPrefix(f.Location, "file://")
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(tbl.Iceberg().Metadata().Snapshots()); n != 10 {
		t.Fatalf("%d snapshots, want 10", n)
	}
	res, err := tbl.Maintain(ctx, Maintenance{SnapshotAge: time.Nanosecond, KeepSnapshots: 3, OrphanAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tbl.Iceberg().Metadata().Snapshots()); n != 3 || res.ExpiredSnapshots != 7 {
		t.Errorf("after maintenance: %d snapshots (%d expired), want 3 (7)", n, res.ExpiredSnapshots)
	}
	if got := readInds(t, c, tbl); len(got) != 3 || got[0] != 90 {
		t.Errorf("the current snapshot reads %v, want the last file's inds 90-92", got)
	}
	exists := func(loc string) bool {
		_, err := os.Stat(strings.TrimPrefix(loc, "file://"))
		return err == nil
	}
	if exists(orphan.Location) {
		t.Errorf("the old orphan %s is still there", filepath.Base(orphan.Location))
	}
	if !exists(young.Location) {
		t.Errorf("the young orphan %s was deleted", filepath.Base(young.Location))
	}
	data := strings.TrimPrefix(tbl.FileLocation("2026-12-01", ""), "file://")
	entries, _ := os.ReadDir(data)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// The expired snapshots' files (f0-f6) went with them; f7 and f8 are
	// listed by kept snapshots; f9 is current; young stays.
	if len(names) != 4 {
		t.Errorf("data files left %v, want f7, f8, f9 and young", names)
	}
	if !res.Swept || tbl.Properties()[PropOrphansSwept] == "" {
		t.Errorf("the first maintenance did not look for orphans (%+v) or did not record it (%q)", res, tbl.Properties()[PropOrphansSwept])
	}

	// Within OrphanInterval of that search no other is made: an old
	// orphan stays until the interval has passed.
	again := writePins(t, tbl, "2026-12-01", "again.parquet", pins(300, 1))
	if err := os.Chtimes(strings.TrimPrefix(again.Location, "file://"), old, old); err != nil {
		t.Fatal(err)
	}
	m := Maintenance{OrphanAge: 24 * time.Hour, OrphanInterval: time.Hour}
	if res, err := tbl.Maintain(ctx, m); err != nil || res.Swept || !exists(again.Location) {
		t.Errorf("maintenance within the interval: %+v, %v, orphan there %v; want no search", res, err, exists(again.Location))
	}
	// Loaded anew (a later run), with the last search recorded two hours ago.
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(tbl.Commit(ctx, Change{Properties: map[string]string{PropOrphansSwept: time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)}}))
	check(tbl.Refresh(ctx))
	if res, err := tbl.Maintain(ctx, m); err != nil || !res.Swept || res.RemovedFiles != 1 || exists(again.Location) {
		t.Errorf("maintenance after the interval: %+v, %v, orphan there %v; want it removed", res, err, exists(again.Location))
	}
}

// TestMaintainLeavesExpiredFiles: with LeaveExpiredFiles an expiry deletes
// no file; those only the expired snapshots listed go with a later search
// for orphan files, once older than OrphanAge, and nothing the current
// snapshot lists.
func TestMaintainLeavesExpiredFiles(t *testing.T) {
	ctx := t.Context()
	c, tbl := pinTable(t)
	files, _ := commitPins(t, tbl, 6, 2, true)
	there := func() (n []bool) {
		for _, p := range files {
			_, err := os.Stat(p)
			n = append(n, err == nil)
		}
		return n
	}
	m := Maintenance{SnapshotAge: time.Nanosecond, KeepSnapshots: 2, LeaveExpiredFiles: true, OrphanAge: 24 * time.Hour, OrphanInterval: -1}
	res, err := tbl.Maintain(ctx, m)
	if err != nil || res.ExpiredSnapshots != 4 || slices.Contains(there(), false) {
		t.Fatalf("expiry leaving the files: %+v, %v, files there %v; want 4 expired and every file there", res, err, there())
	}
	old := time.Now().Add(-48 * time.Hour)
	for _, p := range files {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	res, err = tbl.Maintain(ctx, m)
	if want := []bool{false, false, false, false, true, true}; err != nil || res.RemovedFiles != 4 || !slices.Equal(there(), want) {
		t.Errorf("the search for orphans: %+v, %v, files there %v; want the 4 that no kept snapshot lists removed", res, err, there())
	}
	if got := readInds(t, c, tbl); len(got) != 2 || got[0] != 50 {
		t.Errorf("the current snapshot reads %v, want the last file's inds 50-51", got)
	}
}

func TestSweepDue(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	m := Maintenance{}.WithDefaults()
	for _, c := range []struct {
		last string
		m    Maintenance
		want bool
	}{
		{"", m, true},
		{"garbage", m, true},
		{now.Add(-time.Hour).Format(time.RFC3339), m, false},
		{now.Add(-DefaultOrphanInterval).Format(time.RFC3339), m, true},
		{now.Add(time.Hour).Format(time.RFC3339), m, true}, // the clock was set back
		{now.Add(-time.Hour).Format(time.RFC3339), Maintenance{OrphanInterval: -1}, true},
	} {
		if got := c.m.sweepDue(c.last, now); got != c.want {
			t.Errorf("sweepDue(%q) with interval %s = %v, want %v", c.last, c.m.OrphanInterval, got, c.want)
		}
	}
}

// TestMaintainMaxSnapshots bounds the snapshots of a table that commits
// faster than they age: all are younger than SnapshotAge, and all but the
// MaxSnapshots most recent expire.
func TestMaintainMaxSnapshots(t *testing.T) {
	ctx := t.Context()
	c, tbl := pinTable(t)
	_, ids := commitPins(t, tbl, 12, 2, false)
	m := Maintenance{SnapshotAge: time.Hour, KeepSnapshots: 2, MaxSnapshots: 5, OrphanAge: 24 * time.Hour}
	// Within the maximum, nothing young expires; nor within the maximum
	// and the headroom.
	for _, room := range []Maintenance{{MaxSnapshots: 20}, {MaxSnapshots: 5, Headroom: 7}} {
		room.SnapshotAge, room.KeepSnapshots = time.Hour, 2
		res, err := tbl.Maintain(ctx, room)
		if err != nil || res.ExpiredSnapshots != 0 {
			t.Fatalf("Maintain with room for all (%+v) = %+v, %v; want nothing expired", room, res, err)
		}
	}
	// Past the headroom, down to the maximum.
	m.Headroom = 6
	res, err := tbl.Maintain(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	var kept []int64
	for _, s := range tbl.Iceberg().Metadata().Snapshots() {
		kept = append(kept, s.SnapshotID)
	}
	slices.Sort(kept)
	want := slices.Clone(ids[len(ids)-5:])
	slices.Sort(want)
	if !slices.Equal(kept, want) || res.ExpiredSnapshots != 7 {
		t.Errorf("kept snapshots %v (%d expired), want the 5 most recent %v (7)", kept, res.ExpiredSnapshots, want)
	}
	// Appends: every file is still live.
	if got := readInds(t, c, tbl); len(got) != 24 {
		t.Errorf("the current snapshot reads %d rows, want 24", len(got))
	}
	if err := (Maintenance{KeepSnapshots: 10, MaxSnapshots: 5}).Validate(); err == nil {
		t.Error("Validate accepts a maximum below the snapshots kept")
	}
}

// TestManifestMergeCount: a table committed once a day whose definition
// sets ManifestMergeCount keeps a handful of manifests, whatever its
// commits; one made without it gets the property at its next commit.
func TestManifestMergeCount(t *testing.T) {
	ctx := t.Context()
	c := openTest(t)
	def := StreamDef(clean.TablePin, false)
	def.Name = "daily"
	tbl, err := c.Ensure(ctx, def) // made without the property
	if err != nil {
		t.Fatal(err)
	}
	manifests := func() int {
		t.Helper()
		fs, err := tbl.Iceberg().FS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := tbl.Iceberg().CurrentSnapshot().Manifests(fs)
		if err != nil {
			t.Fatal(err)
		}
		return len(ms)
	}
	commitDay := func(i int) {
		t.Helper()
		date := fmt.Sprintf("2026-11-%02d", i+1)
		f := writePins(t, tbl, date, fmt.Sprint("f", i, ".parquet"), pins(i*10, 2))
		if err := tbl.Commit(ctx, Change{Add: []File{f}, ReplaceDay: date}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 6 {
		commitDay(i)
	}
	if n := manifests(); n != 6 {
		t.Fatalf("without the property: %d manifests after 6 daily commits, want 6 (iceberg-go merges at 100)", n)
	}
	def.ManifestMergeCount = 4
	if tbl, err = c.Ensure(ctx, def); err != nil {
		t.Fatal(err)
	}
	for i := 6; i < 30; i++ {
		commitDay(i)
		if n := manifests(); n > def.ManifestMergeCount {
			t.Fatalf("after daily commit %d: %d manifests, want at most %d", i+1, n, def.ManifestMergeCount)
		}
	}
	if got := tbl.Properties()["commit.manifest.min-count-to-merge"]; got != "4" {
		t.Errorf("min-count-to-merge = %q, want 4", got)
	}
	if got := readInds(t, c, tbl); len(got) != 60 {
		t.Errorf("the table reads %d rows, want 60", len(got))
	}
}

func TestWithSnapshots(t *testing.T) {
	for _, tc := range []struct {
		in                      Maintenance
		wantKeep, wantMax, room int
	}{
		{Maintenance{}, 14, 14, 7},
		{Maintenance{KeepSnapshots: 100}, 100, 100, 0},
		{Maintenance{KeepSnapshots: 5, Headroom: 2}, 5, 14, 2},
		{Maintenance{MaxSnapshots: 1000, Headroom: 1}, 14, 1000, 1},
	} {
		got := tc.in.WithSnapshots(14, 7).WithDefaults()
		if got.KeepSnapshots != tc.wantKeep || got.MaxSnapshots != tc.wantMax || got.Headroom != tc.room || !got.LeaveExpiredFiles {
			t.Errorf("%+v: keep %d, at most %d, headroom %d, leaving files %v; want %d, %d, %d and true", tc.in, got.KeepSnapshots, got.MaxSnapshots, got.Headroom, got.LeaveExpiredFiles, tc.wantKeep, tc.wantMax, tc.room)
		}
	}
	if d := (Maintenance{}).WithDefaults(); d.KeepSnapshots != DefaultKeepSnapshots || d.MaxSnapshots != DefaultMaxSnapshots || d.Headroom != 0 || d.LeaveExpiredFiles {
		t.Errorf("defaults: keep %d, at most %d, headroom %d", d.KeepSnapshots, d.MaxSnapshots, d.Headroom)
	}
}
