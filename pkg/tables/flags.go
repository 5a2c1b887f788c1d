package tables

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Environment variables the catalog flags default to.
const (
	EnvCatalog   = "PINPIPE_CATALOG"
	EnvWarehouse = "PINPIPE_WAREHOUSE"
	EnvNamespace = "PINPIPE_NAMESPACE"
)

// DefaultCatalogFile is the SQLite catalog's file in a local warehouse when
// no catalog is given.
const DefaultCatalogFile = "catalog.db"

// Flags defines --catalog, --warehouse and --namespace on fs, bound to c
// (for the binaries that write tables: batchjob, streamjob).
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Catalog, "catalog", os.Getenv(EnvCatalog),
		"Iceberg catalog: sqlite:///abs/path.db, postgres://user@host:5432/db, glue://[catalog-id] or rest+https://host/path (env "+EnvCatalog+"; default with a local warehouse: sqlite in it)")
	fs.StringVar(&c.Warehouse, "warehouse", os.Getenv(EnvWarehouse),
		"where the tables' files go: s3://bucket/prefix, file:///abs/dir or a path (env "+EnvWarehouse+")")
	fs.StringVar(&c.Namespace, "namespace", or(os.Getenv(EnvNamespace), DefaultNamespace),
		"namespace of the tables (env "+EnvNamespace+")")
}

// Check reports a configuration that cannot work, as Validate does once
// Resolve has filled in the catalog; c is not changed. It does no I/O.
func (c Config) Check() error {
	if err := c.Resolve(); err != nil {
		return err
	}
	return c.Validate()
}

// Resolve fills in the catalog of a local warehouse when none is given: a
// SQLite database in it.
func (c *Config) Resolve() error {
	if c.Catalog != "" {
		return nil
	}
	if c.Warehouse == "" {
		return fmt.Errorf("--warehouse is required (s3://bucket/prefix or a directory), and --catalog with an S3 warehouse")
	}
	if strings.Contains(c.Warehouse, "://") && !strings.HasPrefix(c.Warehouse, "file://") {
		return fmt.Errorf("--catalog is required with the warehouse %s (a SQLite catalog needs a local path: sqlite:///abs/path.db, or postgres://, glue://, rest+https://)", c.Warehouse)
	}
	dir := strings.TrimPrefix(c.Warehouse, "file://")
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("warehouse %q: %w", c.Warehouse, err)
	}
	c.Catalog = "sqlite://" + filepath.ToSlash(filepath.Join(abs, DefaultCatalogFile))
	return nil
}

// Flags defines the maintenance flags on fs, bound to m. Their defaults
// are m's settings, where m has them (a job's own defaults), else the
// package's.
func (m *Maintenance) Flags(fs *flag.FlagSet) {
	d := m.WithDefaults()
	fs.DurationVar(&m.SnapshotAge, "snapshot-age", d.SnapshotAge, "table snapshots older than this expire (time travel reaches this far back)")
	fs.IntVar(&m.KeepSnapshots, "keep-snapshots", d.KeepSnapshots, "the most recent snapshots kept whatever their age")
	fs.IntVar(&m.MaxSnapshots, "max-snapshots", d.MaxSnapshots, "at most this many snapshots are kept: older ones expire even within --snapshot-age (bounds the metadata each commit parses and rewrites)")
	fs.DurationVar(&m.OrphanAge, "orphan-age", d.OrphanAge, "files no snapshot lists are deleted once older than this (at least 1h)")
	fs.DurationVar(&m.OrphanInterval, "orphan-interval", d.OrphanInterval, "look for such files at most once in this long (the search reads every kept snapshot's manifests and lists the table's location; negative: at every maintenance)")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
