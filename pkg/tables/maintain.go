package tables

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/iceberg-go"
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
	// MaxSnapshots bounds the snapshots kept: beyond the MaxSnapshots most
	// recent, snapshots expire even when younger than SnapshotAge. A stream
	// table committing every second makes 86,400 snapshots a day; each
	// commit rewrites the table's metadata, which lists them all, so their
	// number bounds the commit's cost. Default: 1000.
	MaxSnapshots int
	// Headroom is how many snapshots beyond KeepSnapshots a table may gain
	// before they expire (MaxSnapshots + Headroom for young ones): an
	// expiry is a commit of its own, which parses and rewrites the table's
	// metadata and reads its manifests to find the files only the expired
	// snapshots list. A job making a snapshot or two a day so expires them a
	// few runs at a time rather than at every run. Default: 0.
	Headroom int
	// LeaveExpiredFiles leaves the files that only expired snapshots list
	// to the search for orphan files (OrphanInterval, OrphanAge) instead of
	// deleting them with the expiry, which finds them by reading the
	// manifests of every snapshot kept, as that search does: an expiry is
	// then a commit only. Default: false.
	LeaveExpiredFiles bool
	// OrphanAge: a file in the table's location that no snapshot lists is
	// deleted once older than this (a write that is still to be committed
	// is younger). Default: 24h; at least 1h.
	OrphanAge time.Duration
	// Loaded says the Table was loaded or committed by this process just
	// before (the batch job maintains its tables right after publishing
	// them), so Maintain does not load it again. A commit of another writer
	// since then makes the expiry fail, as it would after a reload; the
	// orphan files are those older than OrphanAge, which no newer snapshot
	// can be the first to list.
	Loaded bool
	// OrphanInterval: the orphan files of a table are looked for at most
	// once in this long (the time of the last search is the table property
	// PropOrphansSwept). The search reads the manifests of every kept
	// snapshot and lists the whole table location, so its cost grows with
	// the table's history; orphans come only from writes that were never
	// committed (a crash, a lost commit race), and cost only storage until
	// found. Negative: at every maintenance run. Default: 7 days.
	OrphanInterval time.Duration
}

// PropOrphansSwept is the table property holding when its orphan files
// were last looked for (RFC 3339, UTC); see Maintenance.OrphanInterval.
const PropOrphansSwept = "pinpipe.orphans-swept-at"

// Defaults of Maintenance.
const (
	DefaultMaintainInterval = 10 * time.Minute
	DefaultSnapshotAge      = 24 * time.Hour
	DefaultKeepSnapshots    = 100
	DefaultMaxSnapshots     = 1000
	DefaultOrphanAge        = 24 * time.Hour
	DefaultOrphanInterval   = 7 * 24 * time.Hour
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
	case m.Headroom < 0:
		return fmt.Errorf("snapshot headroom %d: want >= 0", m.Headroom)
	case m.MaxSnapshots < 0, m.MaxSnapshots > 0 && m.MaxSnapshots < max(m.KeepSnapshots, 1):
		return fmt.Errorf("at most %d snapshots, but %d are kept whatever their age: want a maximum >= the snapshots kept", m.MaxSnapshots, m.KeepSnapshots)
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
	if m.MaxSnapshots == 0 {
		m.MaxSnapshots = max(DefaultMaxSnapshots, m.KeepSnapshots)
	}
	if m.OrphanAge == 0 {
		m.OrphanAge = DefaultOrphanAge
	}
	if m.OrphanInterval == 0 {
		m.OrphanInterval = DefaultOrphanInterval
	}
	return m
}

// WithSnapshots returns m keeping keep snapshots, with headroom, unless
// KeepSnapshots is set (then with its own Headroom), and at most that many
// (or KeepSnapshots, when higher) unless MaxSnapshots is set, leaving the
// expired snapshots' files to the orphan search: a job that commits a few
// snapshots a day keeps its own number, whatever their age, and its
// expiries are commits only.
func (m Maintenance) WithSnapshots(keep, headroom int) Maintenance {
	m.LeaveExpiredFiles = true
	if m.KeepSnapshots == 0 {
		m.KeepSnapshots = keep
		m.Headroom = cmp.Or(m.Headroom, headroom)
	}
	if m.MaxSnapshots == 0 {
		m.MaxSnapshots = max(keep, m.KeepSnapshots)
	}
	return m
}

// MaintainResult is what a maintenance run did.
type MaintainResult struct {
	ExpiredSnapshots int
	// Swept says the orphan files were looked for (Maintenance.OrphanInterval).
	Swept        bool
	RemovedFiles int
}

// Maintain expires the table's old snapshots (deleting the files only they
// listed) and removes the orphan files of its location. A commit of another
// writer in between makes the expiry fail: it is tried again at the next run.
func (t *Table) Maintain(ctx context.Context, m Maintenance) (MaintainResult, error) {
	m = m.WithDefaults()
	var res MaintainResult
	if !m.Loaded {
		if err := t.Refresh(ctx); err != nil {
			return res, err
		}
	}
	snaps := t.tbl.Metadata().Snapshots()
	before := len(snaps)
	young := 0
	cutoff := time.Now().Add(-m.SnapshotAge).UnixMilli()
	for _, s := range snaps {
		if s.TimestampMs >= cutoff {
			young++
		}
	}
	// Keep the KeepSnapshots most recent and those younger than
	// SnapshotAge, but no more than MaxSnapshots: when more are young, keep
	// exactly the MaxSnapshots most recent (age 0 expires every snapshot
	// beyond the ones retained). Only once more than Headroom would expire.
	age, keep, kept := m.SnapshotAge, m.KeepSnapshots, max(m.KeepSnapshots, young)
	if young > m.MaxSnapshots {
		age, keep, kept = 0, m.MaxSnapshots, m.MaxSnapshots
	}
	if before-kept > m.Headroom {
		tx := t.tbl.NewTransaction()
		if err := tx.ExpireSnapshots(table.WithOlderThan(age), table.WithRetainLast(keep), table.WithPostCommit(!m.LeaveExpiredFiles)); err != nil {
			return res, fmt.Errorf("table %s: expiring snapshots: %w", t.Name(), err)
		}
		tbl, err := tx.Commit(ctx)
		if err != nil {
			return res, fmt.Errorf("catalog %s: expiring snapshots of %s: %w", t.c.desc, t.Name(), err)
		}
		t.tbl = tbl
		res.ExpiredSnapshots = before - len(tbl.Metadata().Snapshots())
	}
	if !m.sweepDue(t.tbl.Properties()[PropOrphansSwept], time.Now()) {
		return res, nil
	}
	started := time.Now().UTC()
	orphans, err := t.tbl.DeleteOrphanFiles(ctx, table.WithFilesOlderThan(m.OrphanAge),
		table.WithPrefixMismatchMode(table.PrefixMismatchIgnore))
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return res, err
		}
		return res, fmt.Errorf("table %s: removing orphan files: %w", t.Name(), err)
	}
	res.Swept, res.RemovedFiles = true, len(orphans.DeletedFiles)
	// When the search started, not ended: a file written during it is
	// younger and found by the next one.
	tx := t.tbl.NewTransaction()
	if err := tx.SetProperties(iceberg.Properties{PropOrphansSwept: started.Format(time.RFC3339)}); err != nil {
		return res, fmt.Errorf("table %s: %w", t.Name(), err)
	}
	tbl, err := tx.Commit(ctx)
	if err != nil {
		return res, fmt.Errorf("catalog %s: recording the orphan search of %s: %w", t.c.desc, t.Name(), err)
	}
	t.tbl = tbl
	return res, nil
}

// sweepDue says whether the orphan files are to be looked for now, given
// the table's PropOrphansSwept (empty or unreadable: never recorded).
func (m Maintenance) sweepDue(last string, now time.Time) bool {
	if m.OrphanInterval < 0 {
		return true
	}
	at, err := time.Parse(time.RFC3339, last)
	// A time ahead of now (a clock set back) does not stop the search.
	return err != nil || now.Sub(at) >= m.OrphanInterval || at.After(now)
}

// Warehouse is the warehouse's store (nil for a REST catalog's own).
func (c *Catalog) Warehouse() objstore.Bucket { return c.store }
