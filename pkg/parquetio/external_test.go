package parquetio

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/clean"
)

// TestDuckDBReadsTheFiles reads the files with DuckDB, an independent Parquet
// reader, and checks the column types it sees and the values it decodes.
func TestDuckDBReadsTheFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (DuckDB)")
	}
	dir := t.TempDir()
	write := func(name string, fn func(*os.File) error) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := fn(f); err != nil {
			t.Fatalf("writing %s: %v", name, err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pins := write("pin.parquet", func(f *os.File) error { return WritePins(f, testPins(), testSources(len(testPins())), Options{}) })
	geos := write("geo.parquet", func(f *os.File) error { return WriteGeos(f, testGeos(), nil, Options{}) })
	users := write("user.parquet", func(f *os.File) error { return WriteUsers(f, testUsers(), nil, Options{}) })
	empty := write("empty.parquet", func(f *os.File) error { return WriteUsers(f, nil, nil, Options{}) })
	rej := write("rej.parquet", func(f *os.File) error {
		return WriteRejected(f, []Rejected{{Table: "pin", Reason: "invalid_json", Source: "k", Line: 3, Raw: "{bad\xff"}}, Options{})
	})

	res := devstack.DuckDB(t,
		"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('"+pins+"'))",
		"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('"+geos+"'))",
		"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('"+users+"'))",
		"SELECT ind, title, follower_count, poster_name FROM read_parquet('"+pins+"') ORDER BY ind",
		"SELECT ind, coordinates[1] AS lat, coordinates[2] AS lon, strftime(timestamp AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%f') AS ts FROM read_parquet('"+geos+"') ORDER BY ind",
		"SELECT count(*) AS n FROM read_parquet('"+empty+"')",
		"SELECT reason, line, raw FROM read_parquet('"+rej+"')",
	)
	types := func(rows []map[string]any) string {
		b, _ := json.Marshal(rows)
		return string(b)
	}
	wantPin := `[{"column_name":"ind","column_type":"BIGINT"},{"column_name":"unique_id","column_type":"VARCHAR"},{"column_name":"title","column_type":"VARCHAR"},{"column_name":"description","column_type":"VARCHAR"},{"column_name":"follower_count","column_type":"BIGINT"},{"column_name":"poster_name","column_type":"VARCHAR"},{"column_name":"tag_list","column_type":"VARCHAR"},{"column_name":"is_image_or_video","column_type":"VARCHAR"},{"column_name":"image_src","column_type":"VARCHAR"},{"column_name":"save_location","column_type":"VARCHAR"},{"column_name":"category","column_type":"VARCHAR"},{"column_name":"shard","column_type":"VARCHAR"},{"column_name":"sequence_number","column_type":"VARCHAR"},{"column_name":"arrival_time","column_type":"TIMESTAMP WITH TIME ZONE"}]`
	wantGeo := `[{"column_name":"ind","column_type":"BIGINT"},{"column_name":"country","column_type":"VARCHAR"},{"column_name":"coordinates","column_type":"DOUBLE[]"},{"column_name":"timestamp","column_type":"TIMESTAMP WITH TIME ZONE"}]`
	wantUser := `[{"column_name":"ind","column_type":"BIGINT"},{"column_name":"user_name","column_type":"VARCHAR"},{"column_name":"age","column_type":"INTEGER"},{"column_name":"date_joined","column_type":"TIMESTAMP WITH TIME ZONE"}]`
	for i, want := range []string{wantPin, wantGeo, wantUser} {
		if got := types(res[i]); got != want {
			t.Errorf("DuckDB sees the columns\n%s\nwant\n%s", got, want)
		}
	}
	var gotPins []struct {
		Ind   string  `json:"ind"`
		Title *string `json:"title"`
	}
	b, _ := json.Marshal(res[3])
	json.Unmarshal(b, &gotPins)
	if len(gotPins) != 4 || gotPins[2].Ind != "7528" || gotPins[2].Title == nil || *gotPins[2].Title != "Ünïcödé 🎨 title" || gotPins[0].Title != nil {
		t.Errorf("DuckDB reads the pins as %s", types(res[3]))
	}
	wantGeos := `[{"ind":"0","lat":null,"lon":null,"ts":null},{"ind":"1","lat":-90,"lon":180,"ts":"2020-09-13 12:26:40.123456"},{"ind":"2","lat":12.5,"lon":-0.000001,"ts":null},{"ind":"3","lat":null,"lon":null,"ts":"1969-12-31 23:59:59.999999"}]`
	if got := types(res[4]); got != wantGeos {
		t.Errorf("DuckDB reads the geos as\n%s\nwant\n%s", got, wantGeos)
	}
	if got := types(res[5]); got != `[{"n":"0"}]` {
		t.Errorf("empty file: %s", got)
	}
	if got := types(res[6]); got != "[{\"line\":\"3\",\"raw\":\"{bad\uFFFD\",\"reason\":\"invalid_json\"}]" {
		t.Errorf("rejected file: %s", got)
	}
}

// TestDuckDBReadsManyPages reads with DuckDB a pin file of several row
// groups and many data pages, with dictionary and plain columns, and checks
// aggregates of every string column against the rows written.
func TestDuckDBReadsManyPages(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (DuckDB)")
	}
	rows := benchPins(20000)
	for i := range rows {
		if i%7 == 0 {
			rows[i].Category, rows[i].Title = clean.Str{}, clean.Str{}
		}
	}
	path := filepath.Join(t.TempDir(), "pins.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePins(f, rows, testSources(len(rows)), Options{RowGroupRows: 7000, PageBytes: 16 << 10}); err != nil {
		t.Fatalf("WritePins: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cols := []string{"unique_id", "title", "description", "poster_name", "tag_list", "is_image_or_video", "image_src",
		"save_location", "category", "shard", "sequence_number"}
	q := "SELECT count(*) AS n"
	for _, c := range cols {
		q += fmt.Sprintf(", count(%[1]s) AS %[1]s_n, sum(length(%[1]s)) AS %[1]s_len, count(DISTINCT %[1]s) AS %[1]s_d", c)
	}
	res := devstack.DuckDB(t, q+" FROM read_parquet('"+path+"')")
	src := testSources(len(rows))
	value := func(i int, c string) clean.Str {
		p := &rows[i]
		return map[string]clean.Str{"unique_id": str(p.UniqueID), "title": p.Title, "description": p.Description,
			"poster_name": p.PosterName, "tag_list": p.TagList, "is_image_or_video": p.IsImageOrVideo, "image_src": p.ImageSrc,
			"save_location": p.SaveLocation, "category": p.Category, "shard": str(src[i].Shard), "sequence_number": str(src[i].Sequence)}[c]
	}
	want := map[string]any{"n": fmt.Sprint(len(rows))}
	for _, c := range cols {
		n, size, distinct := 0, 0, map[string]bool{}
		for i := range rows {
			if v := value(i, c); v.Valid {
				n++
				size += utf8.RuneCountInString(v.V)
				distinct[v.V] = true
			}
		}
		want[c+"_n"], want[c+"_len"], want[c+"_d"] = fmt.Sprint(n), fmt.Sprint(size), fmt.Sprint(len(distinct))
	}
	got := map[string]any{}
	for k, v := range res[0][0] {
		got[k] = fmt.Sprint(v)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DuckDB aggregates\n%v\nwant\n%v", got, want)
	}
}
