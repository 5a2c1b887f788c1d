// Package crosscheck holds tests that check pinpipe's results with an
// independent engine: the nine insight tables of a batch run are computed
// again by DuckDB, with the portable SQL pinpipe ships (sql/insights.sql),
// from the clean tables the run published, and must be equal, row for row and
// type for type, to the insight tables the run published.
package crosscheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/tabletest"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/sample"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// insightSQLFile is the shipped SQL of the nine insight queries.
var insightSQLFile = filepath.Join("..", "..", "sql", "insights.sql")

// query is one section of insightSQLFile.
type query struct {
	name, description string
	sql               string // one statement, without its semicolon
}

// parseQueries splits the SQL file into its sections: a line
// "-- name: NAME", a comment line describing the query, then the statement,
// up to the next section. Lines before the first section are its header.
func parseQueries(path string) ([]query, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var qs []query
	var body []string
	end := func() error {
		if len(qs) == 0 {
			return nil
		}
		q := &qs[len(qs)-1]
		stmt := strings.TrimSpace(strings.Join(body, "\n"))
		body = nil
		var ok bool
		if q.sql, ok = strings.CutSuffix(stmt, ";"); !ok || strings.Contains(q.sql, ";") {
			return fmt.Errorf("%s: query %s: want one statement ending in ';'", path, q.name)
		}
		return nil
	}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		name, isName := strings.CutPrefix(text, "-- name: ")
		switch {
		case isName:
			if err := end(); err != nil {
				return nil, err
			}
			if !sc.Scan() {
				return nil, fmt.Errorf("%s:%d: query %s has no description", path, line, name)
			}
			line++
			desc, ok := strings.CutPrefix(sc.Text(), "-- ")
			if !ok || strings.TrimSpace(desc) == "" {
				return nil, fmt.Errorf("%s:%d: query %s: want a line \"-- description\" after its name", path, line, name)
			}
			qs = append(qs, query{name: strings.TrimSpace(name), description: desc})
		case len(qs) > 0:
			body = append(body, text)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := end(); err != nil {
		return nil, err
	}
	return qs, nil
}

// notPortable are constructs of one engine that the shipped SQL must not
// use (it runs on DuckDB, Trino/Athena and Spark SQL alike).
var notPortable = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`(?i)\bQUALIFY\b`), "QUALIFY"},
	{regexp.MustCompile(`(?i)\bGROUP\s+BY\s+ALL\b`), "GROUP BY ALL"},
	{regexp.MustCompile(`(?i)\b(quantile\w*|median|percentile\w*|approx_\w+|year|list|arg_max|arg_min|max_by|min_by)\s*\(`), "an engine-specific function"},
	{regexp.MustCompile(`::`), "a :: cast"},
	{regexp.MustCompile(`(?i)\bUSING\s*\(`), "JOIN ... USING"},
	{regexp.MustCompile(`(?i)\b(FROM|JOIN)\s+user\b`), "the table user unquoted (USER is reserved)"},
	{regexp.MustCompile(`(?i)\.timestamp\b`), "the column timestamp unquoted"},
	{regexp.MustCompile("`"), "a backquoted identifier"},
	{regexp.MustCompile(`(?i)\bEXCLUDE\b|\bSELECT\s+\*`), "SELECT * (the columns are named)"},
}

// TestInsightSQLFile checks the shipped SQL file's shape: one section per
// insight table, in the order of insights.md, each an ORDER BY query using
// no engine-specific construct.
func TestInsightSQLFile(t *testing.T) {
	qs, err := parseQueries(insightSQLFile)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, q := range qs {
		names = append(names, q.name)
		for _, np := range notPortable {
			if loc := np.re.FindStringIndex(q.sql); loc != nil {
				t.Errorf("%s uses %s: %q", q.name, np.why, q.sql[loc[0]:loc[1]])
			}
		}
		if !regexp.MustCompile(`(?i)\bORDER\s+BY\s+[a-z_, ]+$`).MatchString(q.sql) {
			t.Errorf("%s does not end with ORDER BY its columns", q.name)
		}
	}
	if !slices.Equal(names, insights.Names()) {
		t.Errorf("%s has queries %q, want %q", insightSQLFile, names, insights.Names())
	}
}

func TestInsightsAgreeWithDuckDB(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (DuckDB)")
	}
	qs, err := parseQueries(insightSQLFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	dir := t.TempDir()
	in, err := objstore.Open(ctx, filepath.Join(dir, "topics"), objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 4,000 posts drawn with replacement from 1,500 rows: duplicates, dirt,
	// rejected lines, every timestamp form.
	const seed, rows, posts = 7, 1500, 4000
	g := sample.New(seed)
	layout := batchtest.Layout{Partitions: 3, PerObject: 250}
	writers := map[string]*batchtest.Writer{}
	for _, table := range []string{"pin", "geo", "user"} {
		writers[table] = batchtest.NewWriter(in, "x."+table, layout)
	}
	for _, i := range sample.Posts(seed, rows, posts) {
		pin, geo, user := g.DirtyRecords(i)
		for table, rec := range map[string][]byte{"pin": pin, "geo": geo, "user": user} {
			if err := writers[table].Add(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, w := range writers {
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	const date = "2026-11-25"
	tc := tables.Config{Warehouse: filepath.Join(dir, "warehouse")}
	res, err := batch.Run(ctx, batch.Config{Input: filepath.Join(dir, "topics"), Prefix: "x", Tables: tc, Date: date})
	if err != nil {
		t.Fatal(err)
	}
	files := liveFiles(t, tc, date)

	// The clean tables as views, the shipped queries over them, and the
	// run's insight tables of the date; each with the columns' types.
	stmts := []string{"SET TimeZone = 'UTC'"}
	for _, tb := range clean.Tables {
		stmts = append(stmts, fmt.Sprintf(`CREATE VIEW "%s" AS SELECT * FROM %s`, tb, readParquet(t, files, string(tb))))
	}
	const first = 4 // the statements above return no rows
	for _, q := range qs {
		written := fmt.Sprintf("SELECT * EXCLUDE (%s) FROM %s", parquetio.ColDT, readParquet(t, files, q.name))
		stmts = append(stmts, q.sql, written, "DESCRIBE "+q.sql, "DESCRIBE "+written,
			fmt.Sprintf("SELECT count(*) AS n FROM %s WHERE %s IS DISTINCT FROM DATE '%s'", readParquet(t, files, q.name), parquetio.ColDT, date))
	}
	results := devstack.DuckDB(t, stmts...)[first:]
	nonEmpty := 0
	for i, q := range qs {
		r := results[5*i : 5*i+5]
		want, _ := json.Marshal(r[0])
		got, _ := json.Marshal(r[1])
		if string(got) != string(want) {
			t.Errorf("%s: pinpipe wrote\n%s\nthe shipped SQL computes\n%s", q.name, got, want)
		}
		if w, g := columns(r[2]), columns(r[3]); !slices.Equal(w, g) {
			t.Errorf("%s: pinpipe's columns are %q, the shipped SQL's %q", q.name, g, w)
		}
		if n := fmt.Sprint(r[4][0]["n"]); n != "0" {
			t.Errorf("%s: %s rows of partition dt=%s have another dt", q.name, n, date)
		}
		if len(r[0]) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty != len(qs) {
		t.Errorf("%d of %d insight tables are non-empty; the data should fill every table", nonEmpty, len(qs))
	}
	if !t.Failed() {
		t.Logf("clean rows: pin %d, geo %d, user %d; the nine tables are equal", res.Quality.Pin.RowsWritten, res.Quality.Geo.RowsWritten, res.Quality.User.RowsWritten)
	}
}

// liveFiles returns the local paths of the live data files of the batch
// job's tables in the catalog of tc, from the current snapshots' manifests:
// every file of a clean table, the files of partition dt=date of an insight
// table. Keyed by table name.
func liveFiles(t *testing.T, tc tables.Config, date string) map[string][]string {
	t.Helper()
	ctx := t.Context()
	cat := tabletest.Open(t, tc)
	defer cat.Close()
	out := map[string][]string{}
	for _, def := range batch.Defs() {
		tbl, err := cat.Ensure(ctx, def)
		if err != nil {
			t.Fatal(err)
		}
		files, err := tbl.LiveFiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, df := range files {
			if def.ByDay {
				spec := tbl.Iceberg().Spec()
				f := spec.Field(0)
				if f.Transform.ToHumanStr(df.Partition()[f.FieldID]) != date {
					continue
				}
			}
			path, ok := strings.CutPrefix(df.FilePath(), "file://")
			if !ok {
				t.Fatalf("table %s: live file %s is not a local file", def.Name, df.FilePath())
			}
			out[def.Name] = append(out[def.Name], path)
		}
	}
	return out
}

// readParquet is DuckDB's read_parquet of the files of table name in
// files, in their order.
func readParquet(t *testing.T, files map[string][]string, name string) string {
	t.Helper()
	paths := files[name]
	if len(paths) == 0 {
		t.Fatalf("table %s has no live data file (for the date)", name)
	}
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = "'" + strings.ReplaceAll(p, "'", "''") + "'"
	}
	return "read_parquet([" + strings.Join(quoted, ", ") + "], hive_partitioning = false)"
}

// columns renders DESCRIBE's rows as "name type".
func columns(rows []map[string]any) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprint(r["column_name"], " ", r["column_type"]))
	}
	return out
}
