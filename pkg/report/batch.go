package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
)

// Batch is what the report of a batch run shows.
type Batch struct {
	Namespace string
	Date      string // the run date, YYYY-MM-DD
	RunID     string
	Full      bool
	// Insights are the run's nine insight tables, in the order of
	// insights.Names.
	Insights []Table
	// Quality counts the lines the run read; Totals those of every run
	// since the last full one.
	Quality clean.Quality
	Totals  clean.Quality
	// InsightHistory holds, for each insight table that has one, its rows
	// on every date the table holds, with their date in column DateColumn.
	InsightHistory []Table
	// Runs are the runs the tables remember, oldest first, this one
	// included: the trend of the quality.
	Runs []Run
}

// DateColumn is the date column of Batch.InsightHistory's tables.
const DateColumn = "dt"

// Run is one batch run of the history.
type Run struct {
	Date    string
	RunID   string
	Full    bool
	Quality clean.Quality // the lines the run read
}

// groupedInsights are the insight tables drawn as grouped bars: column x
// along the axis, one series per value of the other column.
var groupedInsights = map[string][2]string{
	insights.NameMedianFollowersByAgeGroupAndJoinYear: {"post_year", "age_group"},
}

// insightCaptions say what each insight table's chart shows.
var insightCaptions = map[string]string{
	insights.NamePopularCategoryByCountry:             "The most popular category in each country, with its number of pins",
	insights.NamePopularCategoryByYear:                "The most popular category of each year from 2018 to 2022",
	insights.NameMostFollowedUserByCountry:            "The most followed poster of each country, with their follower count",
	insights.NameCountryWithMostFollowedUser:          "The country whose top poster has the most followers",
	insights.NamePopularCategoryByAgeGroup:            "The most popular category of each age group",
	insights.NameMedianFollowersByAgeGroup:            "The median follower count of each age group",
	insights.NameUsersJoinedByYear:                    "Users who joined each year from 2015 to 2020",
	insights.NameMedianFollowersByJoinYear:            "The median follower count by the year users joined",
	insights.NameMedianFollowersByAgeGroupAndJoinYear: "The median follower count by age group and joining year, grouped by year",
}

//go:embed assets/batch.html.tmpl
var batchTemplate string

var batchPage = template.Must(template.New("batch").Parse(batchTemplate))

// batchView is the data of batchPage.
type batchView struct {
	B             Batch
	Insights      []figure
	RunSummary    Table
	TotalsSummary Table
	Quality       []figure
	QualityTrend  figure
	Trends        []figure
	Charts        map[string]chart // by figure ID, for the page's script
	ChartJS       template.JS
	ChartVersion  string
	CSS           template.CSS
	JS            template.JS
}

// WriteBatch writes the self-contained HTML report of a batch run to w.
func WriteBatch(w io.Writer, b Batch) error {
	v := batchView{B: b, Charts: map[string]chart{}, ChartJS: template.JS(chartJS), ChartVersion: ChartJSVersion,
		CSS: template.CSS(pageCSS), JS: template.JS(pageJS)}
	for i, t := range b.Insights {
		f := figure{ID: fmt.Sprintf("insight-%d", i+1), Title: t.Name, Caption: insightCaptions[t.Name], Table: t,
			Empty: "No rows: the table is empty for this run."}
		var err error
		if g, ok := groupedInsights[t.Name]; ok {
			f.Chart, err = groupedChart(t, g[0], g[1])
		} else {
			f.Chart, err = barChart(t)
		}
		if err != nil {
			return err
		}
		v.Insights = append(v.Insights, f)
	}
	run, err := decodeQuality(b.Quality)
	if err != nil {
		return err
	}
	totals, err := decodeQuality(b.Totals)
	if err != nil {
		return err
	}
	v.RunSummary = qualitySummary("summary-run", run)
	v.TotalsSummary = qualitySummary("summary-totals", totals)
	v.Quality = qualityFigures(run)
	if v.QualityTrend, err = qualityTrend(b.Runs); err != nil {
		return err
	}
	for i, h := range b.InsightHistory {
		c, n, err := trendChart(h, DateColumn)
		if err != nil {
			return err
		}
		caption := fmt.Sprintf("%s by date", valueName(h))
		if n > len(c.Datasets) {
			caption += fmt.Sprintf(": the %d of %d series with the largest latest values (the table has every row)", len(c.Datasets), n)
		}
		v.Trends = append(v.Trends, figure{ID: fmt.Sprintf("trend-%d", i+1), Title: h.Name, Caption: caption,
			Chart: c, Table: h, Empty: "No rows on any date."})
	}
	for _, fs := range [][]figure{v.Insights, v.Quality, {v.QualityTrend}, v.Trends} {
		for _, f := range fs {
			v.Charts[f.ID] = f.Chart
		}
	}
	return batchPage.Execute(w, v)
}

func valueName(t Table) string {
	if i := valueColumn(t); i >= 0 {
		return t.Columns[i].Name
	}
	return "value"
}

// qualityTrend is the quality of each remembered run: a line per count, all
// tables together, and a table with every run.
func qualityTrend(runs []Run) (figure, error) {
	f := figure{ID: "quality-trend", Title: "Quality by run", Empty: "No run is remembered.",
		Caption: "Rejected lines, nulls, duplicates dropped and the other counts of each run, the three tables together"}
	type point struct {
		label string
		qs    []tableQuality
		run   Run
	}
	var points []point
	var all []tableQuality
	for _, r := range runs {
		qs, err := decodeQuality(r.Quality)
		if err != nil {
			return f, fmt.Errorf("run %s: %w", r.RunID, err)
		}
		points = append(points, point{label: r.Date + " " + shortRun(r.RunID), qs: qs, run: r})
		all = append(all, qs...)
	}
	others := mapNames(all)
	series := append([]string{"rows_read", "rejected", "nulls", "duplicates_dropped"}, others...)
	f.Table = Table{Name: "runs", Columns: []Column{{Name: "date"}, {Name: "run"}, {Name: "full"}}}
	for _, s := range series {
		f.Table.Columns = append(f.Table.Columns, Column{Name: s, Numeric: true})
	}
	f.Chart = chart{Type: "line", XTitle: "run", YTitle: "count"}
	for _, s := range series[1:] { // rows read is in the table: its scale hides the others
		f.Chart.Datasets = append(f.Chart.Datasets, dataset{Label: title(s)})
	}
	for _, p := range points {
		vals := map[string]int64{}
		for _, q := range p.qs {
			vals["rows_read"] += q.Scalars["rows_read"]
			vals["duplicates_dropped"] += q.Scalars["duplicates_dropped"]
			vals["rejected"] += sum(q.Rejected)
			vals["nulls"] += nullTotal(q.Nulls)
			for _, m := range others {
				vals[m] += sum(q.Maps[m])
			}
		}
		full := "no"
		if p.run.Full {
			full = "yes"
		}
		row := []Cell{Str(p.run.Date), Str(p.run.RunID), Str(full)}
		for _, s := range series {
			row = append(row, Int(vals[s]))
		}
		f.Table.Rows = append(f.Table.Rows, row)
		f.Chart.Labels = append(f.Chart.Labels, p.label)
		for i, s := range series[1:] {
			f.Chart.Datasets[i].Data = append(f.Chart.Datasets[i].Data, ptr(vals[s]))
		}
	}
	return f, nil
}

// shortRun is the random suffix of a run id (time-random), or the id.
func shortRun(id string) string {
	if i := strings.LastIndexByte(id, '-'); i >= 0 && i < len(id)-1 {
		return id[i+1:]
	}
	return id
}
