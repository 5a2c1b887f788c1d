package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
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

// readParquetDir reads every Parquet file under prefix of b as one text table.
func readParquetDir(ctx context.Context, b objstore.Reader, prefix string) (textTable, error) {
	var t textTable
	objs, err := b.List(ctx, prefix)
	if err != nil {
		return t, err
	}
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, ".parquet") {
			continue
		}
		data, err := getAll(ctx, b, o.Key)
		if err != nil {
			return t, err
		}
		tbl, err := parquetio.ReadTable(bytes.NewReader(data), nil)
		if err != nil {
			return t, fmt.Errorf("reading %s: %w", o.Key, err)
		}
		schema := tbl.Schema()
		t.header = t.header[:0]
		t.right = t.right[:0]
		for _, fld := range schema.Fields() {
			t.header = append(t.header, fld.Name)
			t.right = append(t.right, arrow.IsInteger(fld.Type.ID()) || arrow.IsFloating(fld.Type.ID()))
		}
		tr := array.NewTableReader(tbl, 0)
		for tr.Next() {
			rec := tr.RecordBatch()
			for row := range int(rec.NumRows()) {
				cells := make([]string, rec.NumCols())
				for c := range cells {
					cells[c] = rec.Column(c).ValueStr(row)
				}
				t.rows = append(t.rows, cells)
			}
		}
		err = tr.Err()
		tr.Release()
		tbl.Release()
		if err != nil {
			return t, fmt.Errorf("reading %s: %w", o.Key, err)
		}
	}
	return t, nil
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

// showInsights prints the nine insight tables of the batch run, read back
// from its Parquet files, with at most maxRows rows each.
func (f *flow) showInsights(ctx context.Context, w io.Writer, maxRows int) error {
	b, err := objstore.Open(ctx, f.batchURL(), objstore.Options{})
	if err != nil {
		return err
	}
	for i, name := range insights.Names() {
		dir := batch.PartitionPrefix(f.Date) + batch.InsightDir(name)
		t, err := readParquetDir(ctx, b, dir)
		if err != nil {
			return fmt.Errorf("insight table %s: %w", name, err)
		}
		fmt.Fprintf(w, "\n%d. %s (%d rows) — %s\n", i+1, name, len(t.rows), b.URL(dir))
		if len(t.header) == 0 {
			fmt.Fprintln(w, "  (no Parquet file)")
			continue
		}
		t.write(w, maxRows)
	}
	return nil
}

// showLocations prints where every output is and how to query it. localS3
// is the directory versitygw keeps the buckets in ("" when unknown).
func (f *flow) showLocations(w io.Writer, localS3 string) {
	dt := batch.PartitionPrefix(f.Date)
	fmt.Fprintln(w, "\nWhere everything is")
	rows := [][]string{
		{"landed Kafka records (JSON lines)", f.landingURL() + "/" + f.Prefix + ".{pin,geo,user}/", "topics/" + f.Prefix + ".*/"},
		{"batch clean tables", f.batchURL() + "/" + dt + "clean/{pin,geo,user}/", "batch/" + dt + "clean/"},
		{"batch insight tables", f.batchURL() + "/" + dt + "insights/{name}/", "batch/" + dt + "insights/"},
		{"batch quarantine", f.batchURL() + "/" + dt + "quarantine/{table}/", "batch/" + dt + "quarantine/"},
		{"batch quality report", f.batchURL() + "/" + dt + batch.QualityKey, "batch/" + dt + batch.QualityKey},
		{"stream clean tables", f.streamURL() + "/{pin,geo,user}/dt=*/", "stream/" + f.Prefix + "/"},
		{"stream quarantine", f.streamURL() + "/quarantine/{table}/dt=*/", "stream/" + f.Prefix + "/quarantine/"},
		{"stream checkpoints", f.streamURL() + "/_checkpoints/", "stream/" + f.Prefix + "/_checkpoints/"},
	}
	t := textTable{header: []string{"what", "S3 URL", "local path"}}
	for _, r := range rows {
		local := "-"
		if localS3 != "" {
			local = filepath.Join(localS3, f.Bucket, r[2])
			if strings.HasSuffix(r[2], "/") {
				local += "/"
			}
		}
		t.rows = append(t.rows, []string{r[0], r[1], local})
	}
	t.write(w, 0)
	fmt.Fprintf(w, "\nThe S3 endpoint is %s (source .stack/env to point aws-cli or the binaries at it).\n", f.Env.S3Endpoint)
	if localS3 != "" {
		q := filepath.Join(localS3, f.Bucket, "batch", dt+batch.InsightDir(insights.NamePopularCategoryByCountry)) + "/*.parquet"
		fmt.Fprintf(w, "Query the outputs with DuckDB, if you have it:\n  duckdb -c \"SELECT * FROM read_parquet('%s')\"\n", q)
		s := filepath.Join(localS3, f.Bucket, "stream", f.Prefix, "pin") + "/*/*.parquet"
		fmt.Fprintf(w, "  duckdb -c \"SELECT category, count(*) FROM read_parquet('%s') GROUP BY 1 ORDER BY 2 DESC\"\n", s)
	}
}

// showQuality prints the quality counts of the batch and the stream path.
func (f *flow) showQuality(w io.Writer) {
	fmt.Fprintf(w, "\nQuality of the batch path (%s/%s%s)\n", f.batchURL(), batch.PartitionPrefix(f.Date), batch.QualityKey)
	bt := textTable{
		header: []string{"table", "emitted", "landed", "rows read", "blank", "rejected", "duplicates dropped", "rows written", "nulls"},
		right:  []bool{false, true, true, true, true, true, true, true, true},
	}
	var reasons []string
	for _, t := range clean.Tables {
		q := f.batchRes.Quality.Table(t)
		var rej, nulls int64
		for r, n := range q.Rejected {
			rej += n
			reasons = append(reasons, fmt.Sprintf("%s %s: %d", t, r, n))
		}
		for _, n := range q.Nulls {
			nulls += n.Total()
		}
		bt.rows = append(bt.rows, []string{string(t), fmt.Sprint(f.emitted["kafka"][t]), fmt.Sprint(f.landed[t]),
			fmt.Sprint(q.RowsRead), fmt.Sprint(q.BlankLines), fmt.Sprint(rej), fmt.Sprint(q.Duplicates),
			fmt.Sprint(q.RowsWritten), fmt.Sprint(nulls)})
	}
	bt.write(w, 0)
	if len(reasons) > 0 {
		fmt.Fprintf(w, "  rejected: %s\n", strings.Join(reasons, "; "))
	}
	fmt.Fprintf(w, "\nQuality of the stream path (streamjob /metrics; rejected records are in %s/quarantine/)\n", f.streamURL())
	st := textTable{
		header: []string{"table", "emitted", "records in", "clean rows", "rejected", "blank"},
		right:  []bool{false, true, true, true, true, true},
	}
	for _, t := range clean.Tables {
		c := f.stream[t]
		st.rows = append(st.rows, []string{string(t), fmt.Sprint(f.emitted["kinesis"][t]), fmt.Sprint(c.In),
			fmt.Sprint(c.Out), fmt.Sprint(c.Rejected), fmt.Sprint(c.Blank)})
	}
	st.write(w, 0)
	fmt.Fprintln(w, "  (the stream path keeps every accepted record, duplicates included; the batch path keeps one row per ind)")
}
