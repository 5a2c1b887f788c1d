package tables

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// SchemaVersionKey is the table property holding the version of pinpipe's
// definition of the table, so that a job can refuse a table an older or
// newer version made.
const SchemaVersionKey = "pinpipe.schema-version"

// SchemaVersion is the version of a definition that sets none (Def.Version).
const SchemaVersion = "1"

// createProps are the properties of a new table.
var createProps = iceberg.Properties{
	table.PropertyFormatVersion: "2",
	// pinpipe's writers resolve conflicts themselves, from the committed
	// state (a stream job drops what another writer committed first): a
	// commit based on a stale table must fail, not be replayed onto the new
	// one by iceberg-go.
	table.CommitNumRetriesKey: "0",
	// Merge small manifests on append, so that frequent commits (the stream
	// job's) keep the manifest list short.
	table.ManifestMergeEnabledKey: "true",
	// Keep the metadata file history short: every commit writes one.
	table.MetadataDeleteAfterCommitEnabledKey: "true",
	table.MetadataPreviousVersionsMaxKey:      "20",
	"write.parquet.compression-codec":         "snappy",
}

// ErrOldVersion is wrapped by Ensure's error for a table that an older
// version of pinpipe's definition made: Recreate replaces it.
var ErrOldVersion = errors.New("table made by an older version of pinpipe")

// Table is one of pinpipe's tables in the catalog.
type Table struct {
	c   *Catalog
	def Def
	tbl *table.Table

	// The data and position delete files of one snapshot (snapshotFiles).
	mu        sync.Mutex
	filesSnap int64
	files     []iceberg.DataFile
	deletes   []iceberg.DataFile
}

// Ensure loads table def, creating it when missing. An existing table must
// have def's columns (same names, types and ids) and partitioning.
func (c *Catalog) Ensure(ctx context.Context, def Def) (*Table, error) {
	schema, err := def.Schema()
	if err != nil {
		return nil, err
	}
	ident := c.Ident(def.Name)
	var tbl *table.Table
	// Two jobs creating the table at once: the loser sees it exists (or, in
	// the SQL catalogs, a unique violation or a busy database) and loads it.
	err = retry.Do(ctx, initRetry, func(ctx context.Context) error {
		var err error
		tbl, err = c.cat.LoadTable(ctx, ident)
		if errors.Is(err, catalog.ErrNoSuchTable) {
			spec := def.Spec(schema)
			props := maps.Clone(createProps)
			props[SchemaVersionKey] = def.version()
			maps.Copy(props, def.mergeProps(nil))
			tbl, err = c.cat.CreateTable(ctx, ident, schema, catalog.WithPartitionSpec(&spec), catalog.WithProperties(props))
			if errors.Is(err, catalog.ErrTableAlreadyExists) { // created meanwhile by another job
				tbl, err = c.cat.LoadTable(ctx, ident)
			}
			if err == nil {
				c.log.Info("created table", "table", strings.Join(ident, "."), "location", tbl.Location())
			}
		}
		if err != nil {
			return initRace(err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("catalog %s: table %s: %w", c.desc, strings.Join(ident, "."), err)
	}
	t := &Table{c: c, def: def, tbl: c.hooked(tbl)}
	if err := t.check(schema); err != nil {
		return nil, err
	}
	return t, nil
}

// check reports a table whose schema or partitioning is not def's.
func (t *Table) check(want *iceberg.Schema) error {
	name := t.Name()
	have := t.tbl.Schema()
	v := cmp.Or(t.tbl.Properties()[SchemaVersionKey], SchemaVersion)
	if v != t.def.version() && !slices.Contains(t.def.Upgrades, v) {
		if v < t.def.version() {
			return fmt.Errorf("%w: table %s was made by version %s of pinpipe's definition of it, this is version %s", ErrOldVersion, name, v, t.def.version())
		}
		return fmt.Errorf("table %s was made by version %s of pinpipe's definition of it, newer than this pinpipe's %s: upgrade pinpipe", name, v, t.def.version())
	}
	if !have.Equals(want) {
		return fmt.Errorf("table %s has columns %s, want %s (drop it, or use another namespace)", name, have, want)
	}
	spec := t.tbl.Spec()
	if wantSpec := t.def.Spec(want); !spec.Equals(wantSpec) {
		return fmt.Errorf("table %s: partitioned by %s, want %s", name, spec, wantSpec)
	}
	return nil
}

// Recreate drops table def and creates it anew, empty: for a table that an
// older version of pinpipe made (ErrOldVersion), which a job rebuilds. Its
// files stay where they are (the catalog forgets them).
func (c *Catalog) Recreate(ctx context.Context, def Def) (*Table, error) {
	ident := c.Ident(def.Name)
	if err := c.cat.DropTable(ctx, ident); err != nil && !errors.Is(err, catalog.ErrNoSuchTable) {
		return nil, fmt.Errorf("catalog %s: dropping %s: %w", c.desc, strings.Join(ident, "."), err)
	}
	c.log.Info("dropped table, to create it anew", "table", strings.Join(ident, "."))
	return c.Ensure(ctx, def)
}

// Name is the table's qualified name, namespace.table.
func (t *Table) Name() string { return strings.Join(t.c.Ident(t.def.Name), ".") }

// Def is the table's definition.
func (t *Table) Def() Def { return t.def }

// Iceberg is the table as last loaded.
func (t *Table) Iceberg() *table.Table { return t.tbl }

// Refresh loads the table's current metadata from the catalog.
func (t *Table) Refresh(ctx context.Context) error {
	tbl, err := t.c.cat.LoadTable(ctx, t.tbl.Identifier())
	if err != nil {
		return fmt.Errorf("catalog %s: loading %s: %w", t.c.desc, t.Name(), err)
	}
	t.tbl = t.c.hooked(tbl)
	return nil
}

// hooked returns tbl committing through the CommitHook, when there is one.
func (c *Catalog) hooked(tbl *table.Table) *table.Table {
	if c.hook == nil {
		return tbl
	}
	return table.New(tbl.Identifier(), tbl.Metadata(), tbl.MetadataLocation(), tbl.FS, hookedCatalog{c})
}

// hookedCatalog is the catalog as tables committing through CommitHook see it.
type hookedCatalog struct{ c *Catalog }

func (h hookedCatalog) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	tbl, err := h.c.cat.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	return h.c.hooked(tbl), nil
}

func (h hookedCatalog) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	var meta table.Metadata
	var loc string
	err := h.c.hook(strings.Join(ident, "."), func() error {
		var err error
		meta, loc, err = h.c.cat.CommitTable(ctx, ident, reqs, updates)
		return err
	})
	return meta, loc, err
}

// Properties are the table's properties as last loaded.
func (t *Table) Properties() iceberg.Properties { return t.tbl.Properties() }

// File is a data file written for a table, not yet committed.
type File struct {
	Location string // URL of the file
	Date     string // its dt partition (tables by day), YYYY-MM-DD
	Bucket   int32  // its bucket (tables with Def.Buckets)
	Rows     int64
	Size     int64
}

// FileLocation is the location of a new data file called name (with its
// extension) in partition date of the table ("" for a table not by day):
// {table location}/data/[dt=D/]name.
func (t *Table) FileLocation(date, name string) string {
	dir := strings.TrimSuffix(t.tbl.Location(), "/") + "/data/"
	if date != "" {
		dir += "dt=" + date + "/"
	}
	return dir + name
}

// WriteFile stores a data file at location with what write writes, and
// returns it (Rows is the caller's).
func (t *Table) WriteFile(ctx context.Context, location, date string, rows int64, write func(io.Writer) error) (File, error) {
	b, key, err := t.c.io.locate(ctx, location)
	if err != nil {
		return File{}, err
	}
	cw := &countingWriter{}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(io.MultiWriter(pw, cw))) }()
	err = b.Put(ctx, key, pr)
	pr.CloseWithError(errors.New("upload ended"))
	if err != nil {
		return File{}, fmt.Errorf("table %s: %w", t.Name(), err)
	}
	return File{Location: location, Date: date, Rows: rows, Size: cw.n}, nil
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// DataFile describes f for the table's manifests.
func (t *Table) DataFile(f File) (iceberg.DataFile, error) {
	return t.contentFile(f, iceberg.EntryContentData)
}

// deleteFiles describes files, position delete files (Rows: the rows they
// delete), for the table's manifests.
func (t *Table) deleteFiles(files []File) ([]iceberg.DataFile, error) {
	return t.contentFiles(files, iceberg.EntryContentPosDeletes)
}

// contentFile describes f, of content c, for the table's manifests.
func (t *Table) contentFile(f File, c iceberg.ManifestEntryContent) (iceberg.DataFile, error) {
	var part map[int]any
	if t.def.ByDay {
		d, err := dayValue(f.Date)
		if err != nil {
			return nil, fmt.Errorf("table %s: file %s: %w", t.Name(), f.Location, err)
		}
		part = map[int]any{partitionFieldID: d}
	} else if f.Date != "" {
		return nil, fmt.Errorf("table %s is not partitioned by day: file %s has date %s", t.Name(), f.Location, f.Date)
	} else if t.def.Buckets > 0 {
		if f.Bucket < 0 || int(f.Bucket) >= t.def.Buckets {
			return nil, fmt.Errorf("table %s: file %s: bucket %d, want 0 to %d", t.Name(), f.Location, f.Bucket, t.def.Buckets-1)
		}
		part = map[int]any{partitionFieldID: f.Bucket}
	}
	b, err := iceberg.NewDataFileBuilder(t.tbl.Spec(), c, f.Location, iceberg.ParquetFile, part, nil, nil, f.Rows, f.Size)
	if err != nil {
		return nil, fmt.Errorf("table %s: file %s: %w", t.Name(), f.Location, err)
	}
	return b.Build(), nil
}

// DataFiles describes files.
func (t *Table) DataFiles(files []File) ([]iceberg.DataFile, error) {
	return t.contentFiles(files, iceberg.EntryContentData)
}

// contentFiles describes files, of content c, for the table's manifests.
func (t *Table) contentFiles(files []File, c iceberg.ManifestEntryContent) ([]iceberg.DataFile, error) {
	out := make([]iceberg.DataFile, 0, len(files))
	for _, f := range files {
		df, err := t.contentFile(f, c)
		if err != nil {
			return nil, err
		}
		out = append(out, df)
	}
	return out, nil
}

// ReadFile reads the file at location (a data or delete file of one of the
// catalog's tables) whole.
func (c *Catalog) ReadFile(ctx context.Context, location string) ([]byte, error) {
	return c.io.read(ctx, location)
}

// Store returns the object store holding location, and its key there.
func (c *Catalog) Store(ctx context.Context, location string) (objstore.Bucket, string, error) {
	return c.io.locate(ctx, location)
}
