package tables

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// Maintenance says how a table is kept small (tables.md, maintenance):
// snapshots expire, files no snapshot lists are removed once old enough,
// and manifests are merged on commit (the tables' commit.manifest-merge
// property).
type Maintenance struct {
	// Interval between maintenance runs of a long-running job; a negative
	// interval turns it off. Default: 10m.
	Interval time.Duration
	// SnapshotAge: snapshots older than this expire (time travel reaches
	// this far back). Default: 24h.
	SnapshotAge time.Duration
	// KeepSnapshots is the number of most recent snapshots kept whatever
	// their age. Default: 100.
	KeepSnapshots int
	// OrphanAge: a file in the table's location that no snapshot lists is
	// deleted once older than this (a write that is still to be committed
	// is younger). Default: 24h; at least 1h.
	OrphanAge time.Duration
}

// Defaults of Maintenance.
const (
	DefaultMaintainInterval = 10 * time.Minute
	DefaultSnapshotAge      = 24 * time.Hour
	DefaultKeepSnapshots    = 100
	DefaultOrphanAge        = 24 * time.Hour
	// MinOrphanAge bounds OrphanAge from below: a data file is written
	// before the commit that lists it, and a commit can be retried for a while.
	MinOrphanAge = time.Hour
)

// Validate reports settings that cannot work.
func (m Maintenance) Validate() error {
	switch {
	case m.SnapshotAge < 0:
		return fmt.Errorf("snapshot age %s: want >= 0", m.SnapshotAge)
	case m.KeepSnapshots < 0:
		return fmt.Errorf("snapshots kept %d: want >= 1", m.KeepSnapshots)
	case m.OrphanAge != 0 && m.OrphanAge < MinOrphanAge:
		return fmt.Errorf("orphan age %s: want at least %s (files are written before the commit that lists them)", m.OrphanAge, MinOrphanAge)
	}
	return nil
}

// WithDefaults fills in the defaults.
func (m Maintenance) WithDefaults() Maintenance {
	if m.Interval == 0 {
		m.Interval = DefaultMaintainInterval
	}
	if m.SnapshotAge == 0 {
		m.SnapshotAge = DefaultSnapshotAge
	}
	if m.KeepSnapshots == 0 {
		m.KeepSnapshots = DefaultKeepSnapshots
	}
	if m.OrphanAge == 0 {
		m.OrphanAge = DefaultOrphanAge
	}
	return m
}

// MaintainResult is what a maintenance run did.
type MaintainResult struct {
	ExpiredSnapshots int
	RemovedFiles     int
}

// Maintain expires the table's old snapshots (deleting the files only they
// listed) and removes the orphan files of its location. A commit of another
// writer in between makes the expiry fail: it is tried again at the next run.
func (t *Table) Maintain(ctx context.Context, m Maintenance) (MaintainResult, error) {
	m = m.WithDefaults()
	var res MaintainResult
	if err := t.Refresh(ctx); err != nil {
		return res, err
	}
	before := len(t.tbl.Metadata().Snapshots())
	if before > m.KeepSnapshots {
		tx := t.tbl.NewTransaction()
		if err := tx.ExpireSnapshots(table.WithOlderThan(m.SnapshotAge), table.WithRetainLast(m.KeepSnapshots)); err != nil {
			return res, fmt.Errorf("table %s: expiring snapshots: %w", t.Name(), err)
		}
		tbl, err := tx.Commit(ctx)
		if err != nil {
			return res, fmt.Errorf("catalog %s: expiring snapshots of %s: %w", t.c.desc, t.Name(), err)
		}
		t.tbl = tbl
		res.ExpiredSnapshots = before - len(tbl.Metadata().Snapshots())
	}
	orphans, err := t.tbl.DeleteOrphanFiles(ctx, table.WithFilesOlderThan(m.OrphanAge),
		table.WithPrefixMismatchMode(table.PrefixMismatchIgnore))
	if err != nil && !errors.Is(err, context.Canceled) {
		return res, fmt.Errorf("table %s: removing orphan files: %w", t.Name(), err)
	}
	res.RemovedFiles = len(orphans.DeletedFiles)
	return res, err
}

// Warehouse is the warehouse's store (nil for a REST catalog's own).
func (c *Catalog) Warehouse() objstore.Bucket { return c.store }
