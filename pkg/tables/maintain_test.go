package tables

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// TestMaintain expires old snapshots (keeping the newest) and deletes the
// files no kept snapshot lists once old enough, and nothing a reader of the
// current snapshot needs.
func TestMaintain(t *testing.T) {
	ctx := t.Context()
	c := openTest(t)
	tbl, err := c.Ensure(ctx, StreamDef(clean.TablePin, false))
	if err != nil {
		t.Fatal(err)
	}
	// Ten snapshots, each replacing the day: only the last one's file is live.
	for i := range 10 {
		f := writePins(t, tbl, "2026-12-01", "f"+string(rune('a'+i))+".parquet", pins(i*10, 3))
		if err := tbl.Commit(ctx, Change{Add: []File{f}, ReplaceDay: "2026-12-01"}); err != nil {
			t.Fatal(err)
		}
	}
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
	// The expired snapshots' files (fa-fg) went with them; fh and fi are
	// listed by kept snapshots; fj is current; young stays.
	if len(names) != 4 {
		t.Errorf("data files left %v, want fh, fi, fj and young", names)
	}
}
