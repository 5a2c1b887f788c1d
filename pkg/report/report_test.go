package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
)

// sampleInsights has rows in every table, ties included, and a hole in the
// age group x year grid.
func sampleInsights() insights.Tables {
	type cc = insights.CategoryByCountry
	type cy = insights.CategoryByYear
	type fu = insights.FollowedUser
	type ag = insights.MedianByAgeGroup
	type uj = insights.UsersJoined
	type gy = insights.MedianByAgeGroupAndYear
	return insights.Tables{
		PopularCategoryByCountry: []cc{{Country: "Albania", Category: "art", CategoryCount: 3},
			{Country: "Chile", Category: "diy", CategoryCount: 2}, {Country: "Chile", Category: "quotes", CategoryCount: 2}},
		PopularCategoryByYear: []cy{{PostYear: 2018, Category: "art", CategoryCount: 4}, {PostYear: 2019, Category: "travel", CategoryCount: 1}},
		MostFollowedUserByCountry: []fu{{Country: "Albania", PosterName: "<b>bold</b> & co", FollowerCount: 900},
			{Country: "Chile", PosterName: "z", FollowerCount: 12}},
		CountryWithMostFollowedUser: []insights.CountryFollowers{{Country: "Albania", FollowerCount: 900}},
		PopularCategoryByAgeGroup:   []insights.CategoryByAgeGroup{{AgeGroup: "18-24", Category: "art", CategoryCount: 5}},
		MedianFollowersByAgeGroup:   []ag{{AgeGroup: "18-24", MedianFollowerCount: 0}, {AgeGroup: "25-35", MedianFollowerCount: 40}},
		UsersJoinedByYear: []uj{{PostYear: 2015, NumberUsersJoined: 3}, {PostYear: 2016, NumberUsersJoined: 1},
			{PostYear: 2017, NumberUsersJoined: 9}},
		MedianFollowersByJoinYear: []insights.MedianByYear{{PostYear: 2015, MedianFollowerCount: 7}},
		MedianFollowersByAgeGroupAndJoinYear: []gy{
			{AgeGroup: "18-24", PostYear: 2015, MedianFollowerCount: 7}, {AgeGroup: "18-24", PostYear: 2016, MedianFollowerCount: 3},
			{AgeGroup: "25-35", PostYear: 2016, MedianFollowerCount: 0}, {AgeGroup: "36-50", PostYear: 2017, MedianFollowerCount: 11}},
	}
}

func sampleQuality() clean.Quality {
	q := clean.NewQuality()
	q.Pin.RowsRead, q.Pin.RowsWritten, q.Pin.Duplicates = 10, 7, 1
	q.Pin.Rejected[clean.ReasonInvalidJSON] = 2
	q.Pin.Nulls["title"] = clean.ColumnNulls{Missing: 1, Placeholder: 2}
	q.Geo.RowsRead, q.Geo.RowsWritten = 5, 5
	q.Geo.Rejected[clean.ReasonMissingKey] = 1
	return q
}

func render(t *testing.T, b Batch) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteBatch(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestWriteBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ins, err := InsightTables(sampleInsights(), mem)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 9 {
		t.Fatalf("%d insight tables, want 9", len(ins))
	}
	page := render(t, Batch{Namespace: "ns", Date: "2026-11-25", RunID: "20261125T000000Z-0000abcd",
		Insights: ins, Quality: sampleQuality(), Totals: sampleQuality(),
		Runs: []Run{{Date: "2026-11-24", RunID: "r1", Full: true, Quality: sampleQuality()}, {Date: "2026-11-25", RunID: "r2", Quality: sampleQuality()}}})

	// Each insight chart promises one bar per row, and its table has every row.
	for i, tbl := range ins {
		id := "insight-" + strconv.Itoa(i+1)
		re := regexp.MustCompile(`data-chart="` + id + `" data-kind="bar" data-bars="(\d+)"`)
		m := re.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("%s (%s): no bar chart", id, tbl.Name)
		}
		if m[1] != strconv.Itoa(len(tbl.Rows)) {
			t.Errorf("%s (%s): data-bars=%s, want %d rows", id, tbl.Name, m[1], len(tbl.Rows))
		}
		if !strings.Contains(page, `id="`+id+`-table" data-rows="`+strconv.Itoa(len(tbl.Rows))+`"`) {
			t.Errorf("%s: table of %d rows missing", id, len(tbl.Rows))
		}
	}
	// Text is escaped; the chart specs are JSON the script can read.
	if strings.Contains(page, "<b>bold</b>") || !strings.Contains(page, "&lt;b&gt;bold&lt;/b&gt; &amp; co") {
		t.Error("a poster name is not HTML-escaped")
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="chart-specs">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no chart specs")
	}
	var specs map[string]chart
	if err := json.Unmarshal([]byte(m[1]), &specs); err != nil {
		t.Fatalf("chart specs: %v\n%.300s", err, m[1])
	}
	grid := specs["insight-9"]
	if got, want := strings.Join(grid.Labels, ","), "2015,2016,2017"; got != want {
		t.Errorf("grouped chart years %s, want %s", got, want)
	}
	if len(grid.Datasets) != 3 || grid.bars() != 4 || grid.Datasets[0].Data[2] != nil {
		t.Errorf("grouped chart: %+v", grid)
	}
	if specs["q-rejected"].bars() != 2 || specs["q-nulls"].bars() != 2 {
		t.Errorf("quality charts: rejected %d bars, nulls %d bars; want 2 and 2", specs["q-rejected"].bars(), specs["q-nulls"].bars())
	}
	if trend := specs["quality-trend"]; len(trend.Labels) != 2 || *trend.Datasets[0].Data[1] != 3 {
		t.Errorf("quality trend: %+v", trend)
	}
	ids := map[string]bool{}
	markup, _, _ := strings.Cut(page, `<script type="application/json"`) // the scripts follow
	for _, m := range regexp.MustCompile(` id="([^"]*)"`).FindAllStringSubmatch(markup, -1) {
		if ids[m[1]] || m[1] == "" || strings.ContainsAny(m[1], " \t\n") {
			t.Errorf("id %q: ids must be unique, without spaces", m[1])
		}
		ids[m[1]] = true
	}
	if !strings.Contains(page, "Chart.js v"+ChartJSVersion) {
		t.Error("the embedded Chart.js is not inlined, or its version is not ChartJSVersion")
	}
	if regexp.MustCompile(`(?i)<(script|link|img)[^>]+(src|href)="[^d]`).MatchString(page) {
		t.Error("the page loads something (only data: URLs may be used): it must be self-contained")
	}
}

// A count map the report does not know (unknown_keys, added to the
// quality report later) is shown as it is.
func TestQualityUnknownMap(t *testing.T) {
	tq, err := decodeTableQuality("pin", []byte(`{"rows_read":4,"rejected":{"invalid_json":1},"nulls":{"title":{"missing":2}},"unknown_keys":{"colour":3,"x":1},"new_count":5}`))
	if err != nil {
		t.Fatal(err)
	}
	if tq.Scalars["new_count"] != 5 || tq.Maps["unknown_keys"]["colour"] != 3 || tq.Nulls["title"].Missing != 2 {
		t.Fatalf("decoded %+v", tq)
	}
	figs := qualityFigures([]tableQuality{tq})
	if len(figs) != 3 || figs[2].ID != "q-unknown-keys" || figs[2].Bars() != 2 || len(figs[2].Table.Rows) != 2 {
		t.Fatalf("figures %+v", figs)
	}
	sum := qualitySummary("run", []tableQuality{tq})
	if c := sum.Col("unknown_keys"); c < 0 || sum.Rows[0][c].Num != 4 {
		t.Errorf("summary %+v", sum)
	}
	if _, err := decodeTableQuality("pin", []byte(`{"rejected":[1]}`)); err == nil || !strings.Contains(err.Error(), "field rejected") {
		t.Errorf("a malformed section: %v", err)
	}
}

func TestTrendChart(t *testing.T) {
	h := Table{Name: "users_joined_by_year", Columns: []Column{{Name: "post_year", Numeric: true}, {Name: "n", Numeric: true}, {Name: "dt"}}}
	for d, day := range []string{"2026-11-24", "2026-11-25"} {
		for y := range int64(10) {
			h.Rows = append(h.Rows, []Cell{Int(2010 + y), Int(y*10 + int64(d)), Str(day)})
		}
	}
	c, n, err := trendChart(h, "dt")
	if err != nil {
		t.Fatal(err)
	}
	if n != 10 || len(c.Datasets) != maxTrendSeries || len(c.Labels) != 2 {
		t.Fatalf("%d series, %d drawn, labels %v", n, len(c.Datasets), c.Labels)
	}
	if c.Datasets[0].Label != "2012" || *c.Datasets[0].Data[1] != 21 {
		t.Errorf("first series %s %v: want the largest latest values, sorted by key", c.Datasets[0].Label, c.Datasets[0].Data)
	}
}
