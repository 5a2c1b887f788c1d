package tables

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

func openTest(t *testing.T) *Catalog {
	t.Helper()
	dir := t.TempDir()
	c, err := Open(t.Context(), Config{Catalog: "sqlite://" + filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "wh")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pinTable opens a test catalog and the stream table pin in it.
func pinTable(t *testing.T) (*Catalog, *Table) {
	t.Helper()
	c := openTest(t)
	tbl, err := c.Ensure(t.Context(), StreamDef(clean.TablePin, false))
	if err != nil {
		t.Fatal(err)
	}
	return c, tbl
}

func pins(from, n int) []clean.Pin {
	rows := make([]clean.Pin, n)
	for i := range rows {
		rows[i] = clean.Pin{Ind: int64(from + i), UniqueID: fmt.Sprint("u", from+i), Category: clean.Str{V: "art", Valid: true}}
	}
	return rows
}

func writePins(t *testing.T, tbl *Table, date, name string, rows []clean.Pin) File {
	t.Helper()
	f, err := tbl.WriteFile(t.Context(), tbl.FileLocation(date, name), date, int64(len(rows)), func(w io.Writer) error {
		return parquetio.WritePins(w, rows, nil, parquetio.Options{Date: date})
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// readInds reads the inds of the table's live files, through their
// locations in the manifests and the object store, without the rows its
// position delete files delete (Deleted), as pinpipe's readers do.
func readInds(t *testing.T, c *Catalog, tbl *Table) []int64 {
	t.Helper()
	files, err := tbl.LiveFiles(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := tbl.Deleted(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var inds []int64
	for _, f := range files {
		data, err := c.ReadFile(t.Context(), f.FilePath())
		if err != nil {
			t.Fatal(err)
		}
		rows, _, err := parquetio.ReadPins(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", f.FilePath(), err)
		}
		if int64(len(rows)) != f.Count() {
			t.Errorf("%s holds %d rows, its manifest entry says %d", f.FilePath(), len(rows), f.Count())
		}
		for _, r := range DropDeleted(rows, deleted[f.FilePath()]) {
			inds = append(inds, r.Ind)
		}
	}
	slices.Sort(inds)
	return inds
}

func TestEnsureAndCommit(t *testing.T) {
	ctx := t.Context()
	c, tbl := pinTable(t)
	f1 := writePins(t, tbl, "2026-12-01", "a.parquet", pins(0, 3))
	f2 := writePins(t, tbl, "2026-12-02", "b.parquet", pins(3, 2))
	if err := tbl.Commit(ctx, Change{Add: []File{f1, f2}, Properties: iceberg.Properties{"pinpipe.test": "1"}}); err != nil {
		t.Fatal(err)
	}
	// Another handle on the table, as another process would have.
	again, err := c.Ensure(ctx, StreamDef(clean.TablePin, false))
	if err != nil {
		t.Fatal(err)
	}
	if got := readInds(t, c, again); !slices.Equal(got, []int64{0, 1, 2, 3, 4}) {
		t.Errorf("inds %v", got)
	}
	if got := again.Properties()["pinpipe.test"]; got != "1" {
		t.Errorf("property %q, want 1", got)
	}
	// Replace one day.
	f3 := writePins(t, tbl, "2026-12-01", "c.parquet", pins(10, 1))
	if err := tbl.Commit(ctx, Change{Add: []File{f3}, ReplaceDay: "2026-12-01"}); err != nil {
		t.Fatal(err)
	}
	if got := readInds(t, c, tbl); !slices.Equal(got, []int64{3, 4, 10}) {
		t.Errorf("after replacing 2026-12-01: inds %v", got)
	}
	// A commit based on the stale handle fails, and changes nothing.
	f4 := writePins(t, again, "2026-12-03", "d.parquet", pins(20, 1))
	if err := again.Commit(ctx, Change{Add: []File{f4}, Properties: iceberg.Properties{"pinpipe.test": "stale"}}); err == nil {
		t.Fatal("a commit on a stale table succeeded")
	}
	if err := again.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readInds(t, c, again); !slices.Equal(got, []int64{3, 4, 10}) {
		t.Errorf("after a failed commit: inds %v", got)
	}
	if got := again.Properties()["pinpipe.test"]; got != "1" {
		t.Errorf("a failed commit set a property: %q", got)
	}
	// An empty commit still makes a snapshot, and moves properties.
	before := again.Iceberg().CurrentSnapshot().SnapshotID
	if err := again.Commit(ctx, Change{Properties: iceberg.Properties{"pinpipe.test": "2"}}); err != nil {
		t.Fatal(err)
	}
	if after := again.Iceberg().CurrentSnapshot().SnapshotID; after == before {
		t.Error("an empty commit made no snapshot")
	}
}

func TestEnsureRefusesOtherColumns(t *testing.T) {
	ctx := t.Context()
	c := openTest(t)
	if _, err := c.Ensure(ctx, StreamDef(clean.TablePin, false)); err != nil {
		t.Fatal(err)
	}
	_, err := c.Ensure(ctx, StreamDef(clean.TablePin, true))
	if err == nil || !strings.Contains(err.Error(), "has columns") {
		t.Errorf("Ensure with source columns on a table without = %v, want a column mismatch", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no catalog"},
		{Config{Catalog: "sqlite://rel/path.db", Warehouse: "/w"}, "absolute path"},
		{Config{Catalog: "mysql://h/db", Warehouse: "/w"}, "unsupported scheme"},
		{Config{Catalog: "postgres://u@h/db"}, "warehouse is required"},
		{Config{Catalog: "postgres://u:secret@h/db?x=1"}, "warehouse is required"},
		{Config{Catalog: "sqlite:///c.db", Warehouse: "/w", Namespace: "a.b"}, "namespace"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%+v: the error shows the password: %v", tc.cfg, err)
		}
	}
	if err := (Config{Catalog: "rest+https://catalog.example/api"}).Validate(); err != nil {
		t.Errorf("a REST catalog without a warehouse: %v", err)
	}
}

var _ = context.Background
