package main

import (
	"strings"
	"testing"
)

func TestTextTableWrite(t *testing.T) {
	tbl := textTable{
		header: []string{"country", "n"},
		right:  []bool{false, true},
		rows:   [][]string{{"Albania", "2"}, {"Côte d'Ivoire", "10"}, {"Chad", "3"}},
	}
	for _, tc := range []struct {
		name    string
		maxRows int
		want    string
	}{
		{name: "all rows", maxRows: 0, want: "" +
			"  country         n\n" +
			"  -------------  --\n" +
			"  Albania         2\n" +
			"  Côte d'Ivoire  10\n" +
			"  Chad            3\n"},
		{name: "truncated", maxRows: 1, want: "" +
			"  country  n\n" +
			"  -------  -\n" +
			"  Albania  2\n" +
			"  … 2 more rows\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			tbl.write(&b, tc.maxRows)
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP pinpipe_stream_records_in_total Kinesis records consumed.
# TYPE pinpipe_stream_records_in_total counter
pinpipe_stream_records_in_total{table="geo"} 500
pinpipe_stream_records_in_total{table="pin"} 498
pinpipe_s3sink_lag_records{partition="2",topic="p.pin"} 0
go_goroutines 12
`
	ss, err := parseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, metric, key, value string
		want                     float64
	}{
		{"one label value", "pinpipe_stream_records_in_total", "table", "pin", 498},
		{"all label values", "pinpipe_stream_records_in_total", "", "", 998},
		{"two labels", "pinpipe_s3sink_lag_records", "topic", "p.pin", 0},
		{"no labels", "go_goroutines", "", "", 12},
		{"missing", "nope", "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sum(ss, tc.metric, tc.key, tc.value); got != tc.want {
				t.Errorf("sum = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRedactArg(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"mysql://root:secret@tcp(127.0.0.1:3306)/test", "mysql://root:***@tcp(127.0.0.1:3306)/test"},
		{"root@tcp(127.0.0.1:3306)/test", "root@tcp(127.0.0.1:3306)/test"},
		{"u:p@tcp(h:3306)/db", "u:***@tcp(h:3306)/db"},
		{"--count", "--count"},
	} {
		if got := redactArg(tc.in); got != tc.want {
			t.Errorf("redactArg(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
