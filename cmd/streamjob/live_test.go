package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/browsertest"
	"github.com/pinpipe/pinpipe/internal/devstack"
	st "github.com/pinpipe/pinpipe/internal/streamtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/stream"
)

// getStatus reads /status of a running job (ok false when it does not
// answer).
func getStatus(addr string) (stream.Status, bool) {
	var s stream.Status
	res, err := http.Get("http://" + addr + "/status")
	if err != nil {
		return s, false
	}
	defer res.Body.Close()
	return s, res.StatusCode == http.StatusOK && json.NewDecoder(res.Body).Decode(&s) == nil
}

// waitStatus polls /status until done holds, or fails after 60s.
func waitStatus(t *testing.T, addr string, p *proc, what string, done func(stream.Status) bool) stream.Status {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, ok := getStatus(addr)
		if ok && done(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s /status is not %s: %+v\n%s", what, s, p.tail(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLivePage runs the streamjob binary on a stream of two shards and
// loads its live page (/) in headless Chromium: it shows the job's own
// counts (records per table, lag per shard, flushes, running quality) with
// no console error and no request but to the job, and refreshes itself
// when more records arrive. Screenshots are kept as test artifacts.
func TestLivePage(t *testing.T) {
	browsertest.Chromium(t)
	env := devstack.Require(t, devstack.Kinesis)
	api := st.KinesisClient(env, env.KinesisEndpoint)
	s := landing.Stream(st.UniqueName("t-"), clean.TablePin)
	st.CreateStream(t, api, s, 2)
	dir := t.TempDir()
	addr := devstack.FreeAddr(t)
	p := startBinary(t, "--streams", s, "--catalog", "sqlite://"+filepath.Join(dir, "catalog.db"), "--warehouse", filepath.Join(dir, "warehouse"),
		"--flush-records", "100", "--flush-interval", "500ms", "--commit-interval", "200ms", "--with-source-columns", "--metrics", addr,
		"--discover-interval", "1s")
	puts := st.PutAll(t, api, s, st.PinRecords(7, 0, 400))
	rows, rejects := st.Expected(puts)
	committed := func(rows, rejects int) func(stream.Status) bool {
		return func(s stream.Status) bool {
			return len(s.Tables) == 1 && s.Tables[0].RecordsOut == int64(rows) && s.Tables[0].Rejected == int64(rejects) && len(s.Shards) == 2
		}
	}
	status := waitStatus(t, addr, p, fmt.Sprintf("%d rows and %d rejects committed", rows, rejects), committed(rows, rejects))
	wantQ := st.ExpectedQuality(puts)
	if q := status.Quality.Quality.Pin; q.RowsRead != wantQ.RowsRead || q.RowsWritten != int64(rows) {
		t.Errorf("/status quality: %d rows read, %d written; want %d and %d", q.RowsRead, q.RowsWritten, wantQ.RowsRead, rows)
	}
	if len(status.Flushes) == 0 || status.Flushes[0].Outcome != stream.OutcomeCommitted {
		t.Errorf("/status flushes: %+v, want the committed flushes", status.Flushes)
	}

	b := browsertest.Open(t, 1280, 900)
	url := "http://" + addr + "/"
	b.Navigate(url)
	b.WaitTrue(`+document.getElementById('live').dataset.updates >= 1`, 10*time.Second)
	var page struct {
		Records      [][]string
		Lag          [][]string
		Flushes      int
		Quality      [][]string
		Health       string
		Bars, Drawn  int
		LagBars      int
		LagDrawn     int
		QualityHeads []string
	}
	const readPage = `(() => {
	  const rows = id => Array.from(document.querySelectorAll('#' + id + ' tbody tr')).map(tr => Array.from(tr.cells).map(td => td.textContent));
	  const drawn = ` + browsertest.DrawnBarsJS + `;
	  const rec = document.querySelector('canvas[data-live="live-records"]'), lag = document.querySelector('canvas[data-live="live-lag"]');
	  return {records: rows('live-records-table'), lag: rows('live-lag-table'), flushes: rows('live-flushes-table').length,
	    quality: rows('live-quality-table'), health: document.getElementById('live-status').textContent,
	    bars: +rec.dataset.bars, drawn: drawn(rec), lagBars: +lag.dataset.bars, lagDrawn: drawn(lag),
	    qualityHeads: Array.from(document.querySelectorAll('#live-quality-table thead th')).map(th => th.textContent)};
	})()`
	b.Eval(readPage, &page)
	want := []string{"stream_pin", s, fmt.Sprint(len(puts)), fmt.Sprint(rows), fmt.Sprint(rejects)}
	if len(page.Records) != 1 || strings.Join(page.Records[0][:5], " ") != strings.Join(want, " ") {
		t.Errorf("records table %v, want one row %v", page.Records, want)
	}
	if page.Drawn != 3 || page.Bars != 3 {
		t.Errorf("records chart: %d bars drawn, %d promised; want in, out and rejected of one table", page.Drawn, page.Bars)
	}
	if len(page.Lag) != 2 || page.LagDrawn != 2 || page.LagBars != 2 {
		t.Errorf("lag: table %v, %d bars drawn, %d promised; want the 2 shards", page.Lag, page.LagDrawn, page.LagBars)
	}
	if page.Flushes == 0 {
		t.Error("no flush listed")
	}
	if !strings.HasPrefix(page.Health, "Health: ok.") {
		t.Errorf("status line %q, want healthy", page.Health)
	}
	col := -1
	for i, h := range page.QualityHeads {
		if h == "rows_read" {
			col = i
		}
	}
	if len(page.Quality) != 3 || col < 0 || page.Quality[0][0] != "pin" || page.Quality[0][col] != fmt.Sprint(wantQ.RowsRead) {
		t.Errorf("quality table %v (columns %v), want pin with %d rows read", page.Quality, page.QualityHeads, wantQ.RowsRead)
	}
	b.Screenshot("live")

	// More records: the page shows them without being reloaded.
	more := st.PutAll(t, api, s, st.PinRecords(7, 400, 200))
	rows2, rejects2 := st.Expected(append(puts, more...))
	waitStatus(t, addr, p, "the second batch committed", committed(rows2, rejects2))
	b.WaitTrue(fmt.Sprintf(`(() => { const r = document.querySelector('#live-records-table tbody tr');
	  return r && r.cells[3].textContent === '%d' && r.cells[4].textContent === '%d'; })()`, rows2, rejects2), 15*time.Second)
	b.Screenshot("live-refreshed")

	pageLoads := 0
	for _, r := range b.Requests() {
		switch r {
		case url:
			pageLoads++
		case "http://" + addr + "/status":
		default:
			t.Errorf("the page requested %s: it must need nothing but the job's /status", r)
		}
	}
	if pageLoads != 1 {
		t.Errorf("the page was loaded %d times: it must refresh its data, not itself", pageLoads)
	}
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}

	// At a phone's width the page does not scroll sideways (wide tables
	// scroll in their own box).
	browsertest.OpenPhone(t, url, `+document.getElementById('live').dataset.updates >= 1`, "live-phone")

	// Once the job stops, the page says so (and keeps trying).
	p.term(t)
	b.WaitTrue(`document.getElementById('live-status').classList.contains('bad') &&
	  document.getElementById('live-status').textContent.startsWith('The job is not answering')`, 15*time.Second)
}
