package tables

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

// bucketPins returns n pins of bucket b of def, from ind from on, with
// their origins.
func bucketPins(def Def, b int32, from int64, n int) ([]clean.Pin, []parquetio.Origin) {
	bucket := def.BucketFunc()
	var rows []clean.Pin
	var org []parquetio.Origin
	for ind := from; len(rows) < n; ind++ {
		if bucket(ind) == b {
			rows = append(rows, clean.Pin{Ind: ind, UniqueID: "u"})
			org = append(org, parquetio.Origin{Offset: ind, Object: "o"})
		}
	}
	return rows, org
}

// writeState writes rows of bucket b, with their origins, as a data file
// of tbl called name.
func writeState(t *testing.T, tbl *Table, b int32, name string, rows []clean.Pin, org []parquetio.Origin) File {
	return writeBucketFile(t, tbl, b, name, len(rows), func(w io.Writer) error {
		return parquetio.WritePins(w, rows, nil, parquetio.Options{Origins: org})
	})
}

// writeDeletes writes dels as a position delete file of bucket b.
func writeDeletes(t *testing.T, tbl *Table, b int32, name string, dels []parquetio.PosDelete) File {
	return writeBucketFile(t, tbl, b, name, len(dels), func(w io.Writer) error {
		return parquetio.WritePosDeletes(w, dels, parquetio.Options{})
	})
}

func writeBucketFile(t *testing.T, tbl *Table, b int32, name string, rows int, write func(io.Writer) error) File {
	t.Helper()
	f, err := tbl.WriteFile(t.Context(), tbl.FileLocation("", name), "", int64(rows), write)
	if err != nil {
		t.Fatal(err)
	}
	f.Bucket = b
	return f
}

// scanInds reads the inds of a snapshot of tbl with iceberg-go's own scan,
// which applies position deletes: what another Iceberg reader sees.
func scanInds(t *testing.T, tbl *Table, snapshot int64) []int64 {
	t.Helper()
	at, err := tbl.Iceberg().Scan(table.WithSnapshotID(snapshot), table.WithSelectedFields("ind")).ToArrowTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	var inds []int64
	for _, ch := range at.Column(0).Data().Chunks() {
		inds = append(inds, ch.(*array.Int64).Int64Values()...)
	}
	slices.Sort(inds)
	return inds
}

// TestPositionDeletes commits position delete files with new rows, replaces
// them, compacts the files they delete from, and replaces the whole table:
// every snapshot made, read by iceberg-go's scan, and the current one, read
// through Deleted, hold the rows expected, none twice. On SQLite, on
// PostgreSQL (the shared catalog) and through the REST protocol (a commit
// of two snapshots sent as JSON).
func TestPositionDeletes(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { positionDeletes(t, openTest(t)) })
	t.Run("rest", func(t *testing.T) {
		wh := filepath.Join(t.TempDir(), "wh")
		_, srv := newRESTFake(t, wh, "/api/catalog", "ws1")
		c, err := Open(t.Context(), Config{Catalog: "rest+" + srv.URL + "/api/catalog?prefix=ws1", Warehouse: wh})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		positionDeletes(t, c)
	})
	t.Run("postgres", func(t *testing.T) {
		env := devstack.Require(t, devstack.Postgres)
		c, err := Open(t.Context(), Config{Catalog: env.NewPostgresSchema(t), Warehouse: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		positionDeletes(t, c)
	})
}

func positionDeletes(t *testing.T, c *Catalog) {
	ctx := t.Context()
	def := CleanDef(clean.TablePin)
	tbl, err := c.Ensure(ctx, def)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, want []int64, snapshots int) {
		t.Helper()
		if err := tbl.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if got := readInds(t, c, tbl); !slices.Equal(got, want) {
			t.Errorf("%s: inds %v, want %v", step, got, want)
		}
		snaps := tbl.Iceberg().Metadata().Snapshots()
		for _, s := range snaps[len(snaps)-snapshots:] {
			if got := scanInds(t, tbl, s.SnapshotID); !slices.Equal(got, want) {
				t.Errorf("%s: snapshot %d (%s) has inds %v, want %v", step, s.SnapshotID, s.Summary.Operation, got, want)
			}
		}
	}
	rows, org := bucketPins(def, 1, 0, 6)
	inds := func(rows []clean.Pin, keep ...int) []int64 {
		var out []int64
		for _, i := range keep {
			out = append(out, rows[i].Ind)
		}
		return out
	}
	f1 := writeState(t, tbl, 1, "f1.parquet", rows, org)
	if err := tbl.Commit(ctx, Change{Add: []File{f1}}); err != nil {
		t.Fatal(err)
	}
	check("one file", inds(rows, 0, 1, 2, 3, 4, 5), 1)

	// Rows 1 and 3 replaced by a new file: one snapshot (a row delta).
	newRows, newOrg := bucketPins(def, 1, rows[5].Ind+1, 2)
	f2 := writeState(t, tbl, 1, "f2.parquet", newRows, newOrg)
	d1 := writeDeletes(t, tbl, 1, "d1.parquet", []parquetio.PosDelete{{Path: f1.Location, Pos: 3}, {Path: f1.Location, Pos: 1}})
	before := len(tbl.Iceberg().Metadata().Snapshots())
	if err := tbl.Commit(ctx, Change{Add: []File{f2}, AddDeletes: []File{d1}}); err != nil {
		t.Fatal(err)
	}
	want := append(inds(rows, 0, 2, 4, 5), inds(newRows, 0, 1)...)
	slices.Sort(want)
	check("deletes added", want, 1)
	if n := len(tbl.Iceberg().Metadata().Snapshots()) - before; n != 1 {
		t.Errorf("a commit adding deletes only made %d snapshots, want 1", n)
	}
	if dels, err := tbl.DeleteFiles(ctx); err != nil || len(dels) != 1 || dels[0].Location != d1.Location || dels[0].Bucket != 1 || dels[0].Rows != 2 {
		t.Errorf("DeleteFiles = %+v, %v; want d1 in bucket 1, 2 rows", dels, err)
	}

	// d1 replaced by d2, which also deletes row 0 of f1 and row 0 of f2:
	// two snapshots, both right (in the first, d1 and d2 are both live).
	d2 := writeDeletes(t, tbl, 1, "d2.parquet", []parquetio.PosDelete{{Path: f1.Location, Pos: 0}, {Path: f1.Location, Pos: 1}, {Path: f1.Location, Pos: 3}, {Path: f2.Location, Pos: 0}})
	before = len(tbl.Iceberg().Metadata().Snapshots())
	if err := tbl.Commit(ctx, Change{AddDeletes: []File{d2}, RemoveDeletes: []string{d1.Location}}); err != nil {
		t.Fatal(err)
	}
	want = append(inds(rows, 2, 4, 5), inds(newRows, 1)...)
	slices.Sort(want)
	check("deletes replaced", want, 2)
	if n := len(tbl.Iceberg().Metadata().Snapshots()) - before; n != 2 {
		t.Errorf("a commit replacing deletes made %d snapshots, want 2", n)
	}

	// f1 compacted (its live rows rewritten as f3) while d2 is replaced
	// by d3, which keeps only its row of f2.
	f3 := writeState(t, tbl, 1, "f3.parquet", []clean.Pin{rows[2], rows[4], rows[5]}, []parquetio.Origin{org[2], org[4], org[5]})
	d3 := writeDeletes(t, tbl, 1, "d3.parquet", []parquetio.PosDelete{{Path: f2.Location, Pos: 0}})
	if err := tbl.Commit(ctx, Change{Remove: []string{f1.Location}, Compacted: []File{f3}, AddDeletes: []File{d3}, RemoveDeletes: []string{d2.Location}}); err != nil {
		t.Fatal(err)
	}
	check("compacted", want, 2)

	// A stale delete file to remove fails the commit.
	if err := tbl.Commit(ctx, Change{RemoveDeletes: []string{d2.Location}}); !errors.Is(err, ErrChanged) {
		t.Errorf("removing a delete file no longer live: %v, want ErrChanged", err)
	}

	// Replacing the whole table removes the delete files too.
	all, allOrg := bucketPins(def, 1, 0, 3)
	f4 := writeState(t, tbl, 1, "f4.parquet", all, allOrg)
	if err := tbl.Commit(ctx, Change{Add: []File{f4}, ReplaceAll: true}); err != nil {
		t.Fatal(err)
	}
	check("replaced", inds(all, 0, 1, 2), 1)
	if dels, err := tbl.DeleteFiles(ctx); err != nil || len(dels) != 0 {
		t.Errorf("after ReplaceAll, DeleteFiles = %+v, %v; want none", dels, err)
	}
}

// TestCleanVersionUpgrade: a clean table of version 2 (before position
// deletes) is read as it is, and marked with CleanVersion by the next
// commit, after which a pinpipe of version 2 refuses it.
func TestCleanVersionUpgrade(t *testing.T) {
	ctx := t.Context()
	c := openTest(t)
	old := CleanDef(clean.TablePin)
	old.Version, old.Upgrades = "2", nil
	if _, err := c.Ensure(ctx, old); err != nil {
		t.Fatal(err)
	}
	tbl, err := c.Ensure(ctx, CleanDef(clean.TablePin))
	if err != nil {
		t.Fatalf("a table of version 2: %v", err)
	}
	if got := tbl.Properties()[SchemaVersionKey]; got != "2" {
		t.Fatalf("version %q before a commit, want 2", got)
	}
	rows, org := bucketPins(tbl.Def(), 0, 0, 2)
	if err := tbl.Commit(ctx, Change{Add: []File{writeState(t, tbl, 0, "a.parquet", rows, org)}}); err != nil {
		t.Fatal(err)
	}
	if got := tbl.Properties()[SchemaVersionKey]; got != CleanVersion {
		t.Errorf("version %q after a commit, want %s", got, CleanVersion)
	}
	_, err = c.Ensure(ctx, old)
	if err == nil || !strings.Contains(err.Error(), "upgrade pinpipe") {
		t.Errorf("version 2 opening the upgraded table: %v, want a refusal", err)
	}
}

// TestBucketFunc: the clean tables' bucket function is iceberg-go's bucket
// transform of a long, on inds of every size and sign.
func TestBucketFunc(t *testing.T) {
	def := CleanDef(clean.TablePin)
	want := iceberg.BucketTransform{NumBuckets: def.Buckets}.Transformer(iceberg.PrimitiveTypes.Int64)
	got := def.BucketFunc()
	inds := []int64{0, 1, -1, 34, 255, 256, 11_000, 1 << 31, -(1 << 40), math.MaxInt64, math.MinInt64}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		inds = append(inds, r.Int64(), r.Int64N(1_000_000))
	}
	seen := map[int32]bool{}
	for _, ind := range inds {
		w := want(ind)
		if !w.Valid || got(ind) != w.Val {
			t.Fatalf("bucket of %d: %d, iceberg-go's %d (valid %v)", ind, got(ind), w.Val, w.Valid)
		}
		seen[w.Val] = true
	}
	if len(seen) != def.Buckets {
		t.Errorf("%d inds fell in %d buckets, want all %d", len(inds), len(seen), def.Buckets)
	}
}
