package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/stream"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// textTable is a table of strings printed with aligned columns.
type textTable struct {
	header []string
	rows   [][]string
	right  []bool // right-align column i (numbers)
}

// write prints t indented by two spaces, at most maxRows rows (0: all), and
// "… N more rows" for the rest.
func (t textTable) write(w io.Writer, maxRows int) {
	shown := t.rows
	if maxRows > 0 && len(shown) > maxRows {
		shown = shown[:maxRows]
	}
	width := make([]int, len(t.header))
	for i, h := range t.header {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, r := range shown {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i < len(t.right) && t.right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
			if i < len(cells)-1 {
				b.WriteString("  ")
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(t.header)
	seps := make([]string, len(width))
	for i, n := range width {
		seps[i] = strings.Repeat("-", n)
	}
	line(seps)
	for _, r := range shown {
		line(r)
	}
	if n := len(t.rows) - len(shown); n > 0 {
		fmt.Fprintf(w, "  … %d more rows\n", n)
	}
}

func getAll(ctx context.Context, b objstore.Reader, key string) ([]byte, error) {
	rc, err := b.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	return data, nil
}

// scanRowsShown is how many rows of the scanned table are printed.
const scanRowsShown = 5

// show prints what the flow's tables hold, read back into o: the insight
// tables, every table with its current snapshot, the scan of one insight
// table through the catalog, where everything is, and the quality counts of
// both paths. maxRows bounds the rows shown of each insight table; localS3
// is the directory the local S3 server keeps the buckets in ("" when
// unknown).
func (f *flow) show(w io.Writer, o *outputs, maxRows int, localS3 string) {
	f.showInsights(w, o, maxRows)
	showTables(w, o)
	f.showScan(w, o)
	f.showLocations(w, o, localS3)
	f.showQuality(w, o)
	f.showReport(w, o, localS3)
}

// showInsights prints the nine insight tables of the run's date.
func (f *flow) showInsights(w io.Writer, o *outputs, maxRows int) {
	fmt.Fprintf(w, "\nThe nine insight tables, partition dt=%s (read from the data files each table's current snapshot lists)\n", f.Date)
	for i, t := range o.Insights {
		files := "no data file"
		switch len(t.Files) {
		case 0:
		case 1:
			files = "file " + t.Files[0]
		default:
			files = fmt.Sprintf("%d files, %s, ...", len(t.Files), t.Files[0])
		}
		fmt.Fprintf(w, "\n%d. %s (%d rows) — %s\n", i+1, t.Name, len(t.Rows.rows), files)
		t.Rows.write(w, maxRows)
	}
}

// showTables lists every table with its snapshots.
func showTables(w io.Writer, o *outputs) {
	fmt.Fprintf(w, "\nThe tables of namespace %s (from the catalog: snapshots, and the current one's summary and manifests)\n", o.Namespace)
	t := textTable{
		header: []string{"table", "job", "snapshots", "current snapshot", "rows", "data files", "run id"},
		right:  []bool{false, false, true, true, true, true, false},
	}
	for _, ti := range o.Tables {
		cur, rows, run := "-", "-", "-"
		if ti.Current != 0 {
			cur = fmt.Sprint(ti.Current)
		}
		if ti.Records >= 0 {
			rows = fmt.Sprint(ti.Records)
		}
		if ti.RunID != "" {
			run = ti.RunID
		}
		t.rows = append(t.rows, []string{ti.Name, ti.Job, fmt.Sprint(ti.Snapshots), cur, rows, fmt.Sprint(len(ti.Files)), run})
	}
	t.write(w, 0)
	fmt.Fprintf(w, "  (rows: total-records of the current snapshot's summary, which in the batch tables also carries %s and %s;\n"+
		"  the stream job commits each table about once a second while records come, a snapshot each, with the shards'\n"+
		"  positions (%s) and the running quality (%s) in the tables' properties)\n",
		batch.SummaryRunID, batch.SummaryRunDate, stream.PositionsKey, stream.QualityKey)
}

// showScan prints the rows of scannedTable read by iceberg-go's scan.
func (f *flow) showScan(w io.Writer, o *outputs) {
	fmt.Fprintf(w, "\nQuery %s through the catalog: iceberg-go's scan with the row filter dt = %s\n", scannedTable, f.Date)
	fmt.Fprintln(w, "(the catalog's current snapshot, its manifests, the data files through the table's IO; not pinpipe's readers)")
	var fromFiles textTable
	for _, t := range o.Insights {
		if t.Name == scannedTable {
			fromFiles = t.Rows
		}
	}
	same := "the same rows as read from its data files above"
	if !sameRows(o.Scanned, fromFiles) {
		same = fmt.Sprintf("NOT the same as the %d rows read from its data files above", len(fromFiles.rows))
	}
	fmt.Fprintf(w, "  %d rows, %s; the first %d:\n", len(o.Scanned.rows), same, min(scanRowsShown, len(o.Scanned.rows)))
	o.Scanned.write(w, scanRowsShown)
}

// sameRows reports whether a and b have the same columns and the same rows,
// in any order.
func sameRows(a, b textTable) bool {
	if !slices.Equal(a.header, b.header) || len(a.rows) != len(b.rows) {
		return false
	}
	sorted := func(rows [][]string) [][]string {
		out := slices.Clone(rows)
		slices.SortFunc(out, slices.Compare)
		return out
	}
	return slices.EqualFunc(sorted(a.rows), sorted(b.rows), slices.Equal)
}

// showReport prints the file:// URL of the batch run's report.html: where
// the local S3 server keeps it, else a copy in the logs directory.
func (f *flow) showReport(w io.Writer, o *outputs, localS3 string) {
	path := localPath(localS3, o.ReportURL)
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(f.Logs, o.Namespace+"-report.html")
		if err := os.WriteFile(path, o.Report, 0o644); err != nil {
			fmt.Fprintf(w, "\nThe batch run's report is at %s (copying it here failed: %v)\n", o.ReportURL, err)
			return
		}
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	fmt.Fprintf(w, "\nThe batch run's report (charts of the insight tables, the quality and their trend; no network needed):\n  %s\n", (&url.URL{Scheme: "file", Path: path}).String())
	fmt.Fprintln(w, "The stream job serves a live page at / of its --metrics address while it runs.")
}

// localPath is where the local S3 server keeps the object of an s3:// URL,
// or "-".
func localPath(localS3, url string) string {
	rest, ok := strings.CutPrefix(url, "s3://")
	if localS3 == "" || !ok {
		return "-"
	}
	p := filepath.Join(localS3, filepath.FromSlash(rest))
	if strings.HasSuffix(url, "/") {
		p += "/"
	}
	return p
}

// showLocations prints where every output is and how to look at it.
func (f *flow) showLocations(w io.Writer, o *outputs, localS3 string) {
	tableDir := strings.TrimSuffix(f.Warehouse, "/") + "/" + o.Namespace + ".db/"
	if len(o.Tables) > 0 { // where the catalog placed them
		loc := o.Tables[0].Location
		tableDir = loc[:strings.LastIndex(loc, "/")+1]
	}
	fmt.Fprintln(w, "\nWhere everything is")
	t := textTable{header: []string{"what", "where"}}
	t.rows = [][]string{
		{"catalog (SQLite, kept between runs)", o.Catalog},
		{"namespace of this run's tables", o.Namespace},
		{"warehouse", f.Warehouse},
		{"tables", tableDir + "{table}/ (metadata/, and data/ or data/dt=D/)"},
		{"batch quality report", o.QualityURL},
		{"landed Kafka records (JSON lines)", f.landingURL() + "/" + f.Prefix + ".{pin,geo,user}/"},
	}
	t.write(w, 0)
	fmt.Fprintf(w, "\nThe S3 endpoint is %s (source .stack/env to point aws-cli or the binaries at it).\n", f.Env.S3Endpoint)
	if localS3 == "" {
		return
	}
	fmt.Fprintf(w, "It keeps s3://{bucket}/{key} in %s: the tables are in %s.\n",
		filepath.Join(localS3, "{bucket}", "{key}"), localPath(localS3, tableDir))
	fmt.Fprintln(w, "Look at the data files with DuckDB, if you have it:")
	for _, q := range []struct{ table, sql string }{
		{scannedTable, "SELECT * FROM read_parquet('%s') ORDER BY category_count DESC"},
		{"stream_pin", "SELECT category, count(*) FROM read_parquet('%s') GROUP BY 1 ORDER BY 2 DESC"},
	} {
		glob := localPath(localS3, tableDir+q.table+"/data/") + "dt=*/*.parquet"
		fmt.Fprintf(w, "  duckdb -c \"%s\"\n", fmt.Sprintf(q.sql, glob))
	}
	fmt.Fprintln(w, "A reader of a table takes the data files its current snapshot lists (the catalog, then the manifests), not")
	if len(o.Stray) == 0 {
		fmt.Fprintln(w, "a directory listing; here the data directories hold no other file, so the globs read the same rows.")
		return
	}
	fmt.Fprintf(w, "a directory listing: here %d data files are listed by no snapshot (e.g. %s), which the globs read too.\n", len(o.Stray), o.Stray[0])
}

// showQuality prints the quality counts of the batch and the stream path.
func (f *flow) showQuality(w io.Writer, o *outputs) {
	fmt.Fprintf(w, "\nQuality of the batch path (quality.json beside the tables: %s)\n", o.QualityURL)
	bt := textTable{
		header: []string{"table", "emitted", "landed", "rows read", "blank", "rejected", "duplicates dropped", "rows written", "nulls"},
		right:  []bool{false, true, true, true, true, true, true, true, true},
	}
	var reasons []string
	for _, t := range clean.Tables {
		q := o.BatchQuality.Quality.Table(t)
		rej, nulls := totals(*q)
		for _, r := range slices.Sorted(maps.Keys(q.Rejected)) {
			reasons = append(reasons, fmt.Sprintf("%s %s: %d", t, r, q.Rejected[r]))
		}
		bt.rows = append(bt.rows, []string{string(t), fmt.Sprint(f.emitted["kafka"][t]), fmt.Sprint(f.landed[t]),
			fmt.Sprint(q.RowsRead), fmt.Sprint(q.BlankLines), fmt.Sprint(rej), fmt.Sprint(q.Duplicates),
			fmt.Sprint(q.RowsWritten), fmt.Sprint(nulls)})
	}
	bt.write(w, 0)
	if len(reasons) > 0 {
		fmt.Fprintf(w, "  rejected (table %s): %s\n", tables.BatchQuarantine, strings.Join(reasons, "; "))
	}
	fmt.Fprintf(w, "\nQuality of the stream path (the stream tables' property %s, also served at /quality of --metrics)\n", stream.QualityKey)
	st := textTable{
		header: []string{"table", "emitted", "rows read", "blank", "rejected", "clean rows", "nulls"},
		right:  []bool{false, true, true, true, true, true, true},
	}
	reasons = reasons[:0]
	for _, t := range clean.Tables {
		q := o.StreamQuality[t]
		rej, nulls := totals(q)
		for _, r := range slices.Sorted(maps.Keys(q.Rejected)) {
			reasons = append(reasons, fmt.Sprintf("%s %s: %d", t, r, q.Rejected[r]))
		}
		st.rows = append(st.rows, []string{string(t), fmt.Sprint(f.emitted["kinesis"][t]), fmt.Sprint(q.RowsRead),
			fmt.Sprint(q.BlankLines), fmt.Sprint(rej), fmt.Sprint(q.RowsWritten), fmt.Sprint(nulls)})
	}
	st.write(w, 0)
	if len(reasons) > 0 {
		fmt.Fprintf(w, "  rejected (table %s): %s\n", tables.StreamQuarantine, strings.Join(reasons, "; "))
	}
	fmt.Fprintln(w, "  (the stream path keeps every accepted record, duplicates included; the batch path keeps one row per ind)")
}

// totals are the rejected records and the null values of q.
func totals(q clean.TableQuality) (rejected, nulls int64) {
	for _, n := range q.Rejected {
		rejected += n
	}
	for _, n := range q.Nulls {
		nulls += n.Total()
	}
	return rejected, nulls
}
