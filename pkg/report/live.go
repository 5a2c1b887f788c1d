package report

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"time"
)

//go:embed assets/live.html.tmpl
var liveTemplate string

//go:embed assets/live.js
var liveJS string

var livePage = template.Must(template.New("live").Parse(liveTemplate))

// DefaultLiveInterval is how often the live page polls the job's status.
const DefaultLiveInterval = 2 * time.Second

// LivePage returns the handler of the stream job's live page: a
// self-contained page that fetches statusURL (the JSON of stream.Status,
// relative to the page) every interval and redraws its charts and tables
// in place. An interval of 0 means DefaultLiveInterval.
func LivePage(statusURL string, interval time.Duration) (http.Handler, error) {
	if interval <= 0 {
		interval = DefaultLiveInterval
	}
	var buf bytes.Buffer
	err := livePage.Execute(&buf, map[string]any{
		"StatusURL": statusURL, "IntervalMS": interval.Milliseconds(), "ChartVersion": ChartJSVersion,
		"CSS": template.CSS(pageCSS), "JS": template.JS(pageJS), "LiveJS": template.JS(liveJS), "ChartJS": template.JS(chartJS),
	})
	if err != nil {
		return nil, err
	}
	page := buf.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(page)
	}), nil
}
