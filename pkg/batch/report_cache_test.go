package batch_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// historyCache is batch's history cache file as JSON.
type historyCache struct {
	Version int                        `json:"version"`
	Files   map[string]json.RawMessage `json:"files"`
}

// TestReportHistoryCache: the report reads its history of the insight
// tables through a cache of the files it read, keyed by location. A run
// takes a cached file's rows from the cache (not the table), keeps in the
// cache exactly the files of its history, and a cache that is unreadable
// is rebuilt from the tables with the same rows.
func TestReportHistoryCache(t *testing.T) {
	dir := t.TempDir()
	in := generated(900, 300)
	third := len(in[0]) / 3
	cfg := tablesAt(t, filepath.Join(dir, "warehouse"))
	cacheFile := filepath.Join(dir, "warehouse", batch.HistoryCacheFile(tables.DefaultNamespace))
	readCache := func() historyCache {
		t.Helper()
		data, err := os.ReadFile(cacheFile)
		if err != nil {
			t.Fatal(err)
		}
		var c historyCache
		if err := json.Unmarshal(data, &c); err != nil {
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
	if c.Version != 1 || len(c.Files) != 2*len(insights.Names()) {
		t.Fatalf("after two runs the cache holds %d files (version %d), want %d: each insight table's two dates", len(c.Files), c.Version, 2*len(insights.Names()))
	}
	before := c.Files

	// A cached file's rows come from the cache: a value planted there
	// shows in the next report.
	const sentinel = "planted-in-the-cache"
	var planted string
	for loc, raw := range c.Files {
		if !strings.Contains(loc, "popular_category_by_country") || !strings.Contains(loc, "2026-11-24") {
			continue
		}
		var tbl struct {
			Name    string              `json:"name"`
			Columns []json.RawMessage   `json:"columns"`
			Rows    [][]json.RawMessage `json:"rows"`
		}
		if err := json.Unmarshal(raw, &tbl); err != nil || len(tbl.Rows) == 0 {
			t.Fatalf("cached %s: %v, %d rows", loc, err, len(tbl.Rows))
		}
		tbl.Rows[0][0] = json.RawMessage(`{"t":"` + sentinel + `"}`)
		c.Files[loc], _ = json.Marshal(tbl)
		planted = loc
	}
	if planted == "" {
		t.Fatal("no cached file of popular_category_by_country on 2026-11-24")
	}
	data, _ := json.Marshal(c)
	if err := os.WriteFile(cacheFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if html := run(2); !strings.Contains(html, sentinel) {
		t.Error("the report after planting a value in the cache does not show it: the cache was not read")
	}
	if got := readCache(); len(got.Files) != 3*len(insights.Names()) {
		t.Errorf("after three runs the cache holds %d files, want %d", len(got.Files), 3*len(insights.Names()))
	}

	// An unreadable cache: the report reads the tables, shows their rows,
	// and the cache is rebuilt with the rows the first runs cached.
	if err := os.WriteFile(cacheFile, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if html := run(3); strings.Contains(html, sentinel) {
		t.Error("the report after the cache was broken still shows the planted value")
	}
	after := readCache()
	if len(after.Files) != 4*len(insights.Names()) {
		t.Errorf("the rebuilt cache holds %d files, want %d", len(after.Files), 4*len(insights.Names()))
	}
	for loc, raw := range before {
		if loc == planted {
			continue
		}
		if got, ok := after.Files[loc]; !ok || string(got) != string(raw) {
			t.Errorf("%s: rebuilt from the table as %s, cached as %s", loc, got, raw)
		}
	}
}
