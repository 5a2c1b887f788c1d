package report

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"sync"
	"time"
)

//go:embed assets/live.html.tmpl
var liveTemplate string

//go:embed assets/live.js
var liveJS string

// The live page polls liveStatusURL (relative to the page) every
// liveInterval.
const (
	liveStatusURL = "status"
	liveInterval  = 2 * time.Second
)

// livePage is the live page, rendered once, on first use. The template and
// its data are fixed: an error is a bug.
var livePage = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	err := template.Must(template.New("live").Parse(liveTemplate)).Execute(&buf, map[string]any{
		"StatusURL": liveStatusURL, "IntervalMS": liveInterval.Milliseconds(), "ChartVersion": ChartJSVersion,
		"CSS": template.CSS(pageCSS), "JS": template.JS(pageJS), "LiveJS": template.JS(liveJS), "ChartJS": template.JS(chartJS),
	})
	if err != nil {
		panic("report: rendering the live page: " + err.Error())
	}
	return buf.Bytes()
})

// LivePage returns the handler of the stream job's live page: a
// self-contained page that fetches "status" (the JSON of stream.Status,
// relative to the page) every 2 seconds and redraws its charts and tables
// in place.
func LivePage() http.Handler {
	page := livePage()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(page)
	})
}
