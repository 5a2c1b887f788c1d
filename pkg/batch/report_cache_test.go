package batch_test

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/report"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// TestReportHistoryCache: the report reads its history of the insight
// tables through a cache of the files it read, keyed by location. A run
// takes a cached file's rows from the cache (not the table), keeps in the
// cache exactly the files of its history, and a cache that is unreadable
// is rebuilt from the tables with the same rows (and the old JSON cache
// is removed).
func TestReportHistoryCache(t *testing.T) {
	dir := t.TempDir()
	in := generated(900, 300)
	third := len(in[0]) / 3
	cfg := tablesAt(t, filepath.Join(dir, "warehouse"))
	cacheFile := filepath.Join(dir, "warehouse", batch.HistoryCacheFile(tables.DefaultNamespace))
	readCache := func() map[string]report.Table {
		t.Helper()
		f, err := os.Open(cacheFile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		c, err := batch.DecodeHistoryCache(f)
		if err != nil {
			t.Fatalf("the history cache: %v", err)
		}
		return c
	}
	days := []string{"2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"}
	run := func(day int) string {
		t.Helper()
		if day < 3 {
			landDay(t, filepath.Join(dir, "topics"), in, day*third, (day+1)*third)
		}
		res := runJob(t, t.Context(), batch.Config{Input: filepath.Join(dir, "topics"), Prefix: testPrefix, Tables: cfg, Date: days[day], Report: true})
		html, err := os.ReadFile(strings.TrimPrefix(res.Report, "file://"))
		if err != nil {
			t.Fatal(err)
		}
		return string(html)
	}
	run(0)
	run(1)
	c := readCache()
	if len(c) != 2*len(insights.Names()) {
		t.Fatalf("after two runs the cache holds %d files, want %d: each insight table's two dates", len(c), 2*len(insights.Names()))
	}
	before := maps.Clone(c)

	// A cached file's rows come from the cache: a value planted there
	// shows in the next report.
	const sentinel = "planted-in-the-cache"
	var planted string
	for loc, tbl := range c {
		if !strings.Contains(loc, "popular_category_by_country") || !strings.Contains(loc, "2026-11-24") {
			continue
		}
		if len(tbl.Rows) == 0 {
			t.Fatalf("cached %s has no rows", loc)
		}
		rows := slices.Clone(tbl.Rows)
		rows[0] = slices.Clone(rows[0])
		rows[0][0] = report.Str(sentinel)
		tbl.Rows = rows
		c[loc] = tbl
		planted = loc
	}
	if planted == "" {
		t.Fatal("no cached file of popular_category_by_country on 2026-11-24")
	}
	var buf bytes.Buffer
	if err := batch.EncodeHistoryCache(&buf, c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cacheFile, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if html := run(2); !strings.Contains(html, sentinel) {
		t.Error("the report after planting a value in the cache does not show it: the cache was not read")
	}
	if got := readCache(); len(got) != 3*len(insights.Names()) {
		t.Errorf("after three runs the cache holds %d files, want %d", len(got), 3*len(insights.Names()))
	}

	// An unreadable cache: the report reads the tables, shows their rows,
	// and the cache is rebuilt with the rows the first runs cached. The
	// cache an older version kept as JSON is removed.
	if err := os.WriteFile(cacheFile, []byte("{not a gob"), 0o644); err != nil {
		t.Fatal(err)
	}
	oldFile := filepath.Join(dir, "warehouse", batch.OldHistoryCacheFile(tables.DefaultNamespace))
	if err := os.WriteFile(oldFile, []byte(`{"version":1,"files":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if html := run(3); strings.Contains(html, sentinel) {
		t.Error("the report after the cache was broken still shows the planted value")
	}
	after := readCache()
	if len(after) != 4*len(insights.Names()) {
		t.Errorf("the rebuilt cache holds %d files, want %d", len(after), 4*len(insights.Names()))
	}
	for loc, cached := range before {
		if loc == planted {
			continue
		}
		if got, ok := after[loc]; !ok || !reflect.DeepEqual(got, cached) {
			t.Errorf("%s: rebuilt from the table as %+v, cached as %+v", loc, got, cached)
		}
	}
	if _, err := os.Stat(oldFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the old JSON cache %s is still there after the cache was rebuilt (stat: %v)", oldFile, err)
	}
}
