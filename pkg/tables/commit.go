package tables

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

// Change is one commit to a table: one snapshot, with the table properties
// set in the same catalog transaction.
type Change struct {
	// Add are the data files the snapshot adds.
	Add []File
	// ReplaceDay, for a table by day, removes every data file of partition
	// dt=ReplaceDay from the snapshot (the files stay until maintenance).
	ReplaceDay string
	// ReplaceAll removes every data file of the table from the snapshot.
	ReplaceAll bool
	// Remove are locations of data files of the current snapshot that the
	// snapshot removes (Table.Files lists them). A location the snapshot
	// does not hold fails the commit: the table changed since it was read.
	Remove []string
	// AddDeletes are Iceberg position delete files (parquetio.
	// WritePosDeletes) that delete rows of data files of the table.
	AddDeletes []File
	// RemoveDeletes are locations of position delete files of the current
	// snapshot (Table.DeleteFiles) that the commit removes. ReplaceAll
	// removes them all.
	RemoveDeletes []string
	// Compacted are data files that hold the rows of the files of Remove
	// that no delete file deletes; see Commit.
	Compacted []File
	// Properties are table properties set by the commit: they change
	// together with the data, or not at all.
	Properties iceberg.Properties
	// Summary are properties of the snapshot's summary.
	Summary iceberg.Properties
}

// Commit commits ch on top of the table as last loaded (Refresh), in one
// catalog commit, also when it adds no file (so that its properties move
// only with a new snapshot). It fails when another commit came first: the
// caller reloads the table and decides from its committed state (its
// properties) what is still to be done. The failed commit's new files are
// not referenced by any snapshot; maintenance deletes them.
//
// A change that adds delete files is an Iceberg row delta: one snapshot of
// the data files of Add and the delete files. When it also removes files
// (of Remove or RemoveDeletes), a second snapshot, a rewrite, removes them
// and adds those of Compacted, so that no snapshot shows a row twice or
// misses one: in the first, the delete files to remove are still live
// beside those that replace them (which repeat their rows of data files
// that stay). Only the last snapshot has Summary. Any other change is one
// snapshot.
func (t *Table) Commit(ctx context.Context, ch Change) error {
	tx := t.tbl.NewTransaction()
	// Compare-and-swap on the branch head, also for iceberg-go's own
	// replays (disabled by the tables' properties anyway).
	if err := tx.AssertRefSnapshotID(table.MainBranch); err != nil {
		return fmt.Errorf("table %s: %w", t.Name(), err)
	}
	add, err := t.DataFiles(ch.Add)
	if err != nil {
		return err
	}
	compacted, err := t.DataFiles(ch.Compacted)
	if err != nil {
		return err
	}
	addDel, err := t.deleteFiles(ch.AddDeletes)
	if err != nil {
		return err
	}
	var remove, removeDel []iceberg.DataFile
	if ch.ReplaceAll || ch.ReplaceDay != "" {
		if remove, err = t.currentFiles(ctx, ch.ReplaceDay); err != nil {
			return err
		}
	} else if len(ch.Remove) > 0 {
		cur, err := t.currentFiles(ctx, "")
		if err != nil {
			return err
		}
		if remove, err = t.pick(cur, ch.Remove); err != nil {
			return err
		}
	}
	if ch.ReplaceAll || len(ch.RemoveDeletes) > 0 {
		dels, err := t.liveDeletes(ctx)
		if err != nil {
			return err
		}
		if removeDel = dels; !ch.ReplaceAll {
			if removeDel, err = t.pick(dels, ch.RemoveDeletes); err != nil {
				return err
			}
		}
	}
	// The properties first: the snapshot is made by the table's new ones
	// (its manifest merging).
	if props := t.def.mergeProps(t.tbl.Properties()); len(ch.Properties)+len(props) > 0 {
		maps.Copy(props, ch.Properties)
		if err := tx.SetProperties(props); err != nil {
			return fmt.Errorf("table %s: %w", t.Name(), err)
		}
	}
	if len(addDel) > 0 {
		// The summary goes with the change's last snapshot only.
		summary := ch.Summary
		if len(remove)+len(removeDel)+len(compacted) > 0 {
			summary = nil
		}
		rd := tx.NewRowDelta(summary).AddDeletes(addDel...).AddRows(add...)
		if err := rd.Commit(ctx); err != nil {
			return fmt.Errorf("table %s: %w", t.Name(), err)
		}
		add = nil
	}
	add = append(add, compacted...)
	switch {
	case len(removeDel) > 0:
		err = tx.ReplaceFiles(ctx, remove, add, removeDel, ch.Summary)
	case len(remove) > 0:
		err = tx.ReplaceDataFilesWithDataFiles(ctx, remove, add, ch.Summary)
	case len(addDel) > 0 && len(add) == 0:
		// The row delta was the change.
	case len(add) > 0:
		err = tx.AddDataFiles(ctx, add, ch.Summary, table.WithoutDuplicateCheck())
	default:
		err = tx.AddFiles(ctx, nil, ch.Summary, false) // an empty snapshot
	}
	if err != nil {
		return fmt.Errorf("table %s: %w", t.Name(), err)
	}
	tbl, err := tx.Commit(ctx)
	if err != nil {
		return fmt.Errorf("catalog %s: committing to %s: %w", t.c.desc, t.Name(), err)
	}
	t.tbl = tbl
	return nil
}

// pick returns the files of cur (of the current snapshot) at locations; a
// location it does not hold fails with ErrChanged.
func (t *Table) pick(cur []iceberg.DataFile, locations []string) ([]iceberg.DataFile, error) {
	byLoc := make(map[string]iceberg.DataFile, len(cur))
	for _, f := range cur {
		byLoc[f.FilePath()] = f
	}
	out := make([]iceberg.DataFile, 0, len(locations))
	for _, loc := range locations {
		f, ok := byLoc[loc]
		if !ok {
			return nil, fmt.Errorf("table %s: %w: file %s to remove is not in its current snapshot", t.Name(), ErrChanged, loc)
		}
		out = append(out, f)
	}
	return out, nil
}

// mergeProps returns the properties that set the table's manifest merging
// and version as d wants them, where have (the table's properties) does
// not already.
func (d Def) mergeProps(have iceberg.Properties) iceberg.Properties {
	props := iceberg.Properties{}
	if have != nil && have[SchemaVersionKey] != d.version() { // one of d.Upgrades
		props[SchemaVersionKey] = d.version()
	}
	if d.ManifestMergeCount > 0 {
		v := strconv.Itoa(d.ManifestMergeCount)
		if have[table.ManifestMinMergeCountKey] != v {
			props[table.ManifestMinMergeCountKey] = v
		}
	}
	return props
}

// ErrChanged is wrapped by Commit's error when the change does not apply to
// the table as last loaded.
var ErrChanged = errors.New("the table changed")

// CurrentFile is a data file of the table's current snapshot.
type CurrentFile struct {
	Location string
	Bucket   int32  // its bucket, in a table with Def.Buckets
	Date     string // its dt partition, YYYY-MM-DD, in a table by day
	Rows     int64
	Size     int64
}

// Files lists the data files of the table's current snapshot (as last
// loaded), sorted by location.
func (t *Table) Files(ctx context.Context) ([]CurrentFile, error) {
	cur, err := t.currentFiles(ctx, "")
	if err != nil {
		return nil, err
	}
	return t.describe(cur)
}

// DeleteFiles lists the position delete files of the table's current
// snapshot (as last loaded), sorted by location; Rows is the number of
// rows they delete.
func (t *Table) DeleteFiles(ctx context.Context) ([]CurrentFile, error) {
	cur, err := t.liveDeletes(ctx)
	if err != nil {
		return nil, err
	}
	return t.describe(cur)
}

// describe turns files of the table into CurrentFiles sorted by location.
func (t *Table) describe(files []iceberg.DataFile) ([]CurrentFile, error) {
	out := make([]CurrentFile, 0, len(files))
	for _, f := range files {
		cf := CurrentFile{Location: f.FilePath(), Rows: f.Count(), Size: f.FileSizeBytes()}
		if t.def.Buckets > 0 {
			b, ok := f.Partition()[partitionFieldID].(int32)
			if !ok {
				return nil, fmt.Errorf("table %s: file %s has no bucket in its partition (%v)", t.Name(), cf.Location, f.Partition())
			}
			cf.Bucket = b
		}
		if t.def.ByDay {
			d, ok := f.Partition()[partitionFieldID].(iceberg.Date)
			if !ok {
				return nil, fmt.Errorf("table %s: file %s has no date in its partition (%v)", t.Name(), cf.Location, f.Partition())
			}
			cf.Date = dayString(d)
		}
		out = append(out, cf)
	}
	slices.SortFunc(out, func(a, b CurrentFile) int { return strings.Compare(a.Location, b.Location) })
	return out, nil
}

// liveDeletes returns the position delete files of the current snapshot.
func (t *Table) liveDeletes(ctx context.Context) ([]iceberg.DataFile, error) {
	_, dels, err := t.snapshotFiles(ctx)
	return dels, err
}

// snapshotFiles returns the data files and the position delete files of the
// current snapshot, read from its manifests once per snapshot (a snapshot
// never changes, and a run lists its tables' files more than once: to
// merge, then to commit).
func (t *Table) snapshotFiles(ctx context.Context) (data, deletes []iceberg.DataFile, err error) {
	snap := t.tbl.CurrentSnapshot()
	if snap == nil {
		return nil, nil, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.filesSnap == snap.SnapshotID && t.files != nil {
		return t.files, t.deletes, nil
	}
	fs, err := t.tbl.FS(ctx)
	if err != nil {
		return nil, nil, err
	}
	manifests, err := snap.Manifests(fs)
	if err != nil {
		return nil, nil, fmt.Errorf("table %s: reading the manifest list: %w", t.Name(), err)
	}
	data, deletes = []iceberg.DataFile{}, []iceberg.DataFile{}
	for _, m := range manifests {
		entries, err := m.FetchEntries(fs, true)
		if err != nil {
			return nil, nil, fmt.Errorf("table %s: reading manifest %s: %w", t.Name(), m.FilePath(), err)
		}
		for _, e := range entries {
			df := e.DataFile()
			switch df.ContentType() {
			case iceberg.EntryContentData:
				data = append(data, df)
			case iceberg.EntryContentPosDeletes:
				deletes = append(deletes, df)
			default:
				return nil, nil, fmt.Errorf("table %s: delete file %s: content %s, want position deletes (pinpipe writes no other)",
					t.Name(), df.FilePath(), df.ContentType())
			}
		}
	}
	slices.SortFunc(data, func(a, b iceberg.DataFile) int { return strings.Compare(a.FilePath(), b.FilePath()) })
	t.files, t.deletes, t.filesSnap = data, deletes, snap.SnapshotID
	return data, deletes, nil
}

// currentFiles returns the data files of the current snapshot, of
// partition day when it is set.
func (t *Table) currentFiles(ctx context.Context, day string) ([]iceberg.DataFile, error) {
	if day == "" {
		data, _, err := t.snapshotFiles(ctx)
		return data, err
	}
	if t.tbl.CurrentSnapshot() == nil {
		return nil, nil
	}
	d, err := dayValue(day)
	if err != nil {
		return nil, err
	}
	tasks, err := t.tbl.Scan(table.WithRowFilter(iceberg.EqualTo(iceberg.Reference(parquetio.ColDT), d))).PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("table %s: listing its files: %w", t.Name(), err)
	}
	files := make([]iceberg.DataFile, 0, len(tasks))
	for _, task := range tasks {
		files = append(files, task.File)
	}
	return files, nil
}
