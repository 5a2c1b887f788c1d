// Package tabletest reads pinpipe's Iceberg tables back for tests, through
// another path than the writers': the table's current snapshot in the
// catalog, its manifests, and the data files they list, read with
// pkg/parquetio (and DuckDB, in the tests that have it).
package tabletest

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// OpenSQLite opens a catalog on a new SQLite database and warehouse
// directory under dir (a t.TempDir()).
func OpenSQLite(t testing.TB, dir string) *tables.Catalog {
	t.Helper()
	c, err := tables.Open(context.Background(), tables.Config{
		Catalog: "sqlite://" + filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "warehouse")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Open opens the catalog of cfg (its SQLite catalog filled in for a local
// warehouse); the caller closes it.
func Open(t testing.TB, cfg tables.Config) *tables.Catalog {
	t.Helper()
	if err := cfg.Resolve(); err != nil {
		t.Fatal(err)
	}
	c, err := tables.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Files returns the contents of the live data files of table def, keyed by
// location.
func Files(t testing.TB, c *tables.Catalog, def tables.Def) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	tbl, err := c.Ensure(ctx, def)
	if err != nil {
		t.Fatal(err)
	}
	files, err := tbl.LiveFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		data, err := c.ReadFile(ctx, f.FilePath())
		if err != nil {
			t.Fatalf("a live file of %s: %v", def.Name, err)
		}
		out[f.FilePath()] = data
	}
	return out
}

// Deleted returns the rows of the live data files of table def that its
// position delete files delete (tables.Table.Deleted).
func Deleted(t testing.TB, c *tables.Catalog, def tables.Def) map[string][]int64 {
	t.Helper()
	tbl, err := c.Ensure(context.Background(), def)
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := tbl.Deleted(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return deleted
}

// Pins reads the rows of a pin table (with their sources, when it has them).
func Pins(t testing.TB, c *tables.Catalog, def tables.Def) ([]clean.Pin, []parquetio.Source) {
	t.Helper()
	var rows []clean.Pin
	var src []parquetio.Source
	for loc, data := range Files(t, c, def) {
		r, s, err := parquetio.ReadPins(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		rows, src = append(rows, r...), append(src, s...)
	}
	return rows, src
}

// Rejected reads the rows of a quarantine table.
func Rejected(t testing.TB, c *tables.Catalog, def tables.Def) []parquetio.Rejected {
	t.Helper()
	var rows []parquetio.Rejected
	for loc, data := range Files(t, c, def) {
		r, err := parquetio.ReadRejected(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		rows = append(rows, r...)
	}
	return rows
}
