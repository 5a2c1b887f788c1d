package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadmeUpToDate fails when the flags section of README.md differs from
// what the binaries' flag sets generate.
func TestReadmeUpToDate(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	got := Current(string(readme))
	if got == want {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("README.md is out of date: run `make docs`\nfirst difference, line %d of the flags section:\nREADME:    %q\ngenerated: %q", i+1, g, w)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  string
		want []Flag
	}{
		{
			name: "flag package format with banner",
			out: "Usage of x:\n" +
				"  -brokers string\n    \tKafka brokers (env B)\n" +
				"  -flush-size int\n    \trecords per object (default 1)\n" +
				"  -gzip\n    \tgzip objects\n" +
				"  -group string\n    \tconsumer group (default \"pinpipe-s3sink\")\n" +
				"  -rotate duration\n    \tclose after this (0: off)\n",
			want: []Flag{
				{Name: "brokers", Type: "string", Usage: "Kafka brokers (env B)"},
				{Name: "flush-size", Type: "int", Default: "1", Usage: "records per object"},
				{Name: "gzip", Usage: "gzip objects"},
				{Name: "group", Type: "string", Default: "pinpipe-s3sink", Usage: "consumer group"},
				{Name: "rotate", Type: "duration", Usage: "close after this (0: off)"},
			},
		},
		{
			name: "one-letter flag and multi-line usage after a usage line",
			out: "usage: x --a A\n" +
				"  -v\tverbose\n" +
				"  -date string\n    \trun date\n    \tin UTC (default today)\n",
			want: []Flag{
				{Name: "v", Usage: "verbose"},
				{Name: "date", Type: "string", Default: "today", Usage: "run date in UTC"},
			},
		},
		{name: "no flags", out: "usage: x\n", want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseDefaults(tc.out)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSplice(t *testing.T) {
	section := "\n## Flags\n\ntable\n"
	generated := BeginMarker + "\n" + section + EndMarker
	for _, tc := range []struct {
		name, readme, want string
		wantErr            bool
	}{
		{name: "no markers: appended", readme: "# x\n\ntext\n", want: "# x\n\ntext\n\n" + generated + "\n"},
		{name: "no final newline", readme: "# x", want: "# x\n\n" + generated + "\n"},
		{
			name:   "markers: only between them",
			readme: "# x\n" + BeginMarker + "\nold\n" + EndMarker + "\n\n## after\n",
			want:   "# x\n" + generated + "\n\n## after\n",
		},
		{name: "end before begin", readme: EndMarker + "\n" + BeginMarker + "\n", wantErr: true},
		{name: "begin only", readme: BeginMarker + "\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Splice(tc.readme, section)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
			if err == nil && Current(got) != section {
				t.Errorf("Current = %q, want %q", Current(got), section)
			}
		})
	}
}
