package tables

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/apache/iceberg-go"

	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

// LiveFiles returns the data files of the table's current snapshot as last
// loaded, read from its manifests (not planned from a scan): what a reader
// of the table reads. Sorted by location.
func (t *Table) LiveFiles(ctx context.Context) ([]iceberg.DataFile, error) {
	data, _, err := t.snapshotFiles(ctx)
	return slices.Clone(data), err
}

// Deleted returns the rows of data files that the position delete files of
// the table's current snapshot (as last loaded) delete: by data file
// location, their row numbers, sorted. A reader of LiveFiles leaves them
// out (DropDeleted).
func (t *Table) Deleted(ctx context.Context) (map[string][]int64, error) {
	dels, err := t.liveDeletes(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]int64{}
	for _, f := range dels {
		data, err := t.c.ReadFile(ctx, f.FilePath())
		if err != nil {
			return nil, fmt.Errorf("table %s: reading a delete file: %w", t.Name(), err)
		}
		pd, err := parquetio.ReadPosDeletes(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("table %s: delete file %s: %w", t.Name(), f.FilePath(), err)
		}
		for _, d := range pd {
			out[d.Path] = append(out[d.Path], d.Pos)
		}
	}
	for _, p := range out {
		slices.Sort(p)
	}
	return out, nil
}

// DropDeleted returns rows, the rows of a data file in file order, without
// those at the row numbers of deleted (sorted, as Deleted gives them).
func DropDeleted[R any](rows []R, deleted []int64) []R {
	if len(deleted) == 0 {
		return rows
	}
	out := make([]R, 0, len(rows))
	for i, r := range rows {
		if _, found := slices.BinarySearch(deleted, int64(i)); !found {
			out = append(out, r)
		}
	}
	return out
}
