package batch_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestFixtureGoldenInsights runs the checked-in sample fixture through the
// whole job and compares the nine insight tables and the quality counts with
// testdata/fixture/golden/batch.json (rewrite with -update; review the diff).
// The rows that the fixture's hand-written lines decide are also checked
// against expectations worked out by hand (testdata/fixture/README.md).
func TestFixtureGoldenInsights(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	in := openStore(t, filepath.Join(dir, "topics"), objstore.Options{})
	land(t, in, fixture(t), batchtest.Layout{Partitions: 2, PerObject: 7})
	out := openStore(t, filepath.Join(dir, "out"), objstore.Options{})
	runJob(t, ctx, batch.Config{Input: in.URL(""), Prefix: testPrefix, Tables: tablesAt(t, out.URL("")), Date: "2026-11-25"})
	o := readOutput(t, tablesAt(t, out.URL("")), "2026-11-25")

	type golden struct {
		Insights map[string][][]string `json:"insights"`
		Quality  any                   `json:"quality"`
	}
	got := golden{Insights: o.insights, Quality: o.quality.Quality}
	path := filepath.Join(fixtureDir, "golden", "batch.json")
	enc, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, append(enc, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantData, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var g, w any
	json.Unmarshal(enc, &g)
	if err := json.Unmarshal(wantData, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("the job's output on the fixture differs from %s; run `go test ./pkg/batch -run TestFixtureGoldenInsights -update` and review the diff", path)
	}

	// Hand-worked rows (fixture README): ties at 250,000,000 followers.
	has := func(table string, row ...string) bool {
		return slices.ContainsFunc(o.insights[table], func(r []string) bool { return slices.Equal(r, row) })
	}
	for _, row := range [][]string{
		{"Aruba", "Tie Alpha", "250000000"}, {"Aruba", "Tie Beta", "250000000"}, {"Benin", "Tie Gamma", "250000000"},
	} {
		if !has("most_followed_user_by_country", row...) {
			t.Errorf("most_followed_user_by_country lacks %v", row)
		}
	}
	gammas := 0
	for _, r := range o.insights["most_followed_user_by_country"] {
		if r[0] == "Benin" {
			gammas++
		}
	}
	if gammas != 1 {
		t.Errorf("Benin has %d rows in most_followed_user_by_country, want 1 (distinct pairs)", gammas)
	}
	for _, row := range [][]string{{"Aruba", "250000000"}, {"Benin", "250000000"}} {
		if !has("country_with_most_followed_user", row...) {
			t.Errorf("country_with_most_followed_user lacks %v: %v", row, o.insights["country_with_most_followed_user"])
		}
	}
	for _, row := range [][]string{{"Aruba", "art", "1"}, {"Aruba", "travel", "1"}, {"Benin", "art", "1"}, {"Benin", "travel", "1"}} {
		if !has("popular_category_by_country", row...) {
			t.Errorf("popular_category_by_country lacks the tie %v", row)
		}
	}
}
