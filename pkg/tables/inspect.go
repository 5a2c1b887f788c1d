package tables

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/iceberg-go"
)

// LiveFiles returns the data files of the table's current snapshot as last
// loaded, read from its manifests (not planned from a scan): what a reader
// of the table reads. Sorted by location.
func (t *Table) LiveFiles(ctx context.Context) ([]iceberg.DataFile, error) {
	snap := t.tbl.CurrentSnapshot()
	if snap == nil {
		return nil, nil
	}
	fs, err := t.tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	manifests, err := snap.Manifests(fs)
	if err != nil {
		return nil, fmt.Errorf("table %s: reading the manifest list: %w", t.Name(), err)
	}
	var files []iceberg.DataFile
	for _, m := range manifests {
		if m.ManifestContent() != iceberg.ManifestContentData {
			continue
		}
		entries, err := m.FetchEntries(fs, true)
		if err != nil {
			return nil, fmt.Errorf("table %s: reading manifest %s: %w", t.Name(), m.FilePath(), err)
		}
		for _, e := range entries {
			files = append(files, e.DataFile())
		}
	}
	slices.SortFunc(files, func(a, b iceberg.DataFile) int {
		switch {
		case a.FilePath() < b.FilePath():
			return -1
		case a.FilePath() > b.FilePath():
			return 1
		}
		return 0
	})
	return files, nil
}
