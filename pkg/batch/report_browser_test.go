package batch_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/browsertest"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// chartsJS describes every chart of a page: what Chart.js drew (bars with a
// value and a position) against what the page promised (data-bars) and the
// rows of the table beside it.
const chartsJS = `(() => { const drawnBars = ` + browsertest.DrawnBarsJS + `;
return Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => {
  const ch = Chart.getChart(c);
  const tbl = document.getElementById(c.dataset.table);
  return {id: c.dataset.chart, kind: c.dataset.kind, chart: !!ch, bars: +c.dataset.bars, drawn: c.dataset.kind === 'bar' ? drawnBars(c) : 0,
    rows: tbl ? tbl.tBodies[0].rows.length : -1, labels: ch ? ch.data.labels.length : 0,
    width: c.clientWidth, height: c.clientHeight};
}); })()`

type chartInfo struct {
	ID            string
	Kind          string
	Chart         bool
	Bars, Drawn   int
	Rows, Labels  int
	Width, Height int
}

// landDay lands records [from, to) of each topic of in, continuing the
// offsets of the records before from (landed by an earlier call).
func landDay(t *testing.T, dir string, in topics, from, to int) {
	t.Helper()
	b := openStore(t, dir, objstore.Options{})
	layout := batchtest.Layout{Partitions: 2, PerObject: 100}
	for i, tb := range clean.Tables {
		w := batchtest.NewWriter(b, landing.Topic(testPrefix, tb), layout)
		for _, rec := range in[i][:from] {
			w.Skip(rec)
		}
		for _, rec := range in[i][from:to] {
			if err := w.Add(t.Context(), rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReportInBrowser runs the batch job on two days and loads the second
// day's report.html in headless Chromium: no console error, no request but
// the page itself, each chart draws the bars its table has, the tables
// sort, the page fits a phone's width, and follows the dark scheme.
// Screenshots are kept as test artifacts.
func TestReportInBrowser(t *testing.T) {
	browsertest.Chromium(t)
	dir := t.TempDir()
	in := generated(1200, 300)
	half := len(in[0]) / 2
	cfg := tablesAt(t, filepath.Join(dir, "warehouse"))
	var res batch.Result
	for day, span := range [][2]int{{0, half}, {half, len(in[0])}} {
		landDay(t, filepath.Join(dir, "topics"), in, span[0], span[1])
		var err error
		res, err = batch.Run(t.Context(), batch.Config{Input: filepath.Join(dir, "topics"), Prefix: testPrefix, Tables: cfg,
			Date: []string{"2026-11-24", "2026-11-25"}[day], Report: true})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := filepath.Join(dir, "warehouse", batch.ReportFile(tables.DefaultNamespace, "2026-11-25"))
	if res.Report == "" {
		t.Fatal("Result.Report is empty")
	}
	if _, err := os.Stat(want); err != nil {
		t.Fatalf("report %s (Result.Report %s): %v", want, res.Report, err)
	}
	out := readOutput(t, cfg, "2026-11-25")

	b := browsertest.Open(t, 1280, 900)
	url := "file://" + want
	b.Navigate(url)
	b.WaitTrue(`Array.from(document.querySelectorAll('canvas[data-chart]')).every(c => Chart.getChart(c))`, 10*time.Second)
	var charts []chartInfo
	b.Eval(chartsJS, &charts)
	byID := map[string]chartInfo{}
	for _, c := range charts {
		byID[c.ID] = c
		if !c.Chart || c.Width == 0 || c.Height == 0 {
			t.Errorf("chart %s: not drawn (%+v)", c.ID, c)
		}
		if c.Kind == "bar" && c.Drawn != c.Bars {
			t.Errorf("chart %s: Chart.js drew %d bars, the page promises %d", c.ID, c.Drawn, c.Bars)
		}
	}
	for i, name := range insights.Names() {
		rows := len(out.insights[name]) - 1 // a header first
		c, ok := byID["insight-"+strconv.Itoa(i+1)]
		if rows == 0 {
			continue // an empty table has no chart, only its note
		}
		if !ok {
			t.Errorf("%s: no chart", name)
			continue
		}
		if c.Drawn != rows || c.Rows != rows {
			t.Errorf("%s: %d bars drawn and %d rows in the page's table, want the %d rows published", name, c.Drawn, c.Rows, rows)
		}
	}
	if c := byID["quality-trend"]; c.Labels != 2 || c.Rows != 2 {
		t.Errorf("quality trend: %d runs drawn, %d in its table; want the 2 runs", c.Labels, c.Rows)
	}
	if c := byID["trend-7"]; c.Labels != 2 {
		t.Errorf("users_joined_by_year trend: %d dates, want 2", c.Labels)
	}
	if c := byID["q-rejected"]; c.Bars == 0 {
		t.Error("the generated input has rejected lines; the report shows none")
	}

	// Sorting: the second click on a numeric heading sorts descending.
	var sorted []float64
	b.Eval(`(() => { const th = document.querySelector('#insight-1-table th:last-child button');
	  th.click(); th.click();
	  return Array.from(document.querySelectorAll('#insight-1-table tbody tr td:last-child')).map(td => +td.textContent); })()`, &sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] > sorted[i-1] {
			t.Fatalf("insight-1 table not sorted descending after two clicks: %v", sorted)
		}
	}
	b.Screenshot("report-desktop")

	b.Dark(true) // the page follows the change of scheme by itself
	b.WaitTrue(`getComputedStyle(document.body).backgroundColor === 'rgb(13, 17, 23)' && Chart.defaults.color === '#e6edf3'`, 10*time.Second)
	var dark struct{ Bg, Chart string }
	b.Eval(`({bg: getComputedStyle(document.body).backgroundColor, chart: Chart.defaults.color})`, &dark)
	if dark.Bg != "rgb(13, 17, 23)" || !strings.EqualFold(dark.Chart, "#e6edf3") {
		t.Errorf("dark scheme: background %s, chart text %s", dark.Bg, dark.Chart)
	}
	b.Screenshot("report-dark")

	phone := browsertest.OpenPhone(t, url, `Array.from(document.querySelectorAll('canvas[data-chart]')).every(c => Chart.getChart(c))`, "report-phone")

	for _, br := range []*browsertest.Browser{b, phone} {
		if errs := br.Errors(); len(errs) > 0 {
			t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
		}
		for _, r := range br.Requests() {
			if r != url {
				t.Errorf("the page requested %s: it must need nothing but itself", r)
			}
		}
	}
}
