package clean

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenLine is the outcome of cleaning one fixture line.
type goldenLine struct {
	Line     int    `json:"line"`
	Blank    bool   `json:"blank,omitempty"`
	Rejected string `json:"rejected,omitempty"`
	Row      any    `json:"row,omitempty"`
}

type goldenFile struct {
	Lines   []goldenLine `json:"lines"`
	Quality TableQuality `json:"quality"`
}

// cleanFixture cleans the fixture of table with a Cleaner that carves strings
// from an arena of chunks up to arena bytes (0: none).
func cleanFixture(t *testing.T, table Table, arena int) goldenFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fixture", string(table)+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	c := New()
	c.SetArena(arena)
	var out goldenFile
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		var row any
		switch table {
		case TablePin:
			row, err = c.Pin(sc.Bytes())
		case TableGeo:
			row, err = c.Geo(sc.Bytes())
		case TableUser:
			row, err = c.User(sc.Bytes())
		}
		gl := goldenLine{Line: n}
		var re *RecordError
		switch {
		case errors.Is(err, ErrBlank):
			gl.Blank = true
		case errors.As(err, &re):
			gl.Rejected = string(re.Reason)
		case err != nil:
			t.Fatalf("%s line %d: %v", table, n, err)
		default:
			gl.Row = row
		}
		out.Lines = append(out.Lines, gl)
	}
	q := c.Quality()
	out.Quality = *q.Table(table)
	return out
}

// TestFixtureGolden cleans the checked-in fixture and compares every line's
// outcome and the quality counters with testdata/fixture/golden (rewrite with
// -update after an intended change; review the diff). The outcome is the same
// whether the strings are allocated per row or carved from an arena, with
// chunks small enough that some rows do not fit one.
func TestFixtureGolden(t *testing.T) {
	for _, table := range Tables {
		for _, arena := range []int{0, 256, 64 << 10} {
			t.Run(fmt.Sprintf("%s/arena=%d", table, arena), func(t *testing.T) {
				testFixtureGolden(t, table, arena)
			})
		}
	}
}

func testFixtureGolden(t *testing.T, table Table, arena int) {
	got := cleanFixture(t, table, arena)
	path := filepath.Join("..", "..", "testdata", "fixture", "golden", string(table)+".clean.json")
	enc, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if *update && arena == 0 { // the arena runs are checked against what this one writes
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(enc, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var g, w any
	if err := json.Unmarshal(enc, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("clean output of %s.jsonl differs from %s; run `go test ./pkg/clean -run TestFixtureGolden -update` and review the diff", table, path)
	}
}

// TestFixtureHandWritten checks the hand-written fixture lines against the
// expectations worked out by hand in testdata/fixture/README.md, independently
// of the golden files.
func TestFixtureHandWritten(t *testing.T) {
	pins := map[int64]Pin{}
	for _, l := range cleanFixture(t, TablePin, 0).Lines {
		if p, ok := l.Row.(Pin); ok {
			pins[p.Ind] = p // the last version of an ind wins
		}
	}
	followers := map[int64]Int64{
		900020: {3142, true}, 900021: {1, true}, 900022: {2, true}, 900023: {3, true}, 900024: {10321, true},
		900025: {1200000, true}, 900026: {}, 900027: {999, true}, 900028: {100000000, true}, 900029: {},
		900030: {123, true}, 900031: {2500, true}, 900032: {7000000, true}, 900033: {42, true}, 900034: {2, true}, 900035: {},
	}
	for ind, want := range followers {
		if got := pins[ind].FollowerCount; got != want {
			t.Errorf("pin %d follower_count = %+v, want %+v", ind, got, want)
		}
	}
	if p := pins[900005]; p.Title.V != "Second version (kept by the batch job)" || p.Category.V != "quotes" || p.FollowerCount.V != 2000 {
		t.Errorf("pin 900005 (last version) = %+v", p)
	}
	if p := pins[900008]; p.Category != (Str{"art", true}) || p.Title.Valid || p.SaveLocation.Valid || p.FollowerCount.Valid {
		t.Errorf("pin 900008 = %+v, want category art and placeholders null", p)
	}

	geos := map[int64]Geo{}
	for _, l := range cleanFixture(t, TableGeo, 0).Lines {
		if g, ok := l.Row.(Geo); ok {
			geos[g.Ind] = g
		}
	}
	years := map[int64]int{900010: 2017, 900011: 2018, 900012: 2022, 900013: 2023, 900014: 2022, 900015: 2018, 900016: 2018}
	for ind, want := range years {
		ts := geos[ind].Timestamp
		if !ts.Valid || time.UnixMicro(ts.Micros).UTC().Year() != want {
			t.Errorf("geo %d timestamp %+v, want year %d", ind, ts, want)
		}
	}
	if ts := geos[900012].Timestamp; time.UnixMicro(ts.Micros).UTC().Nanosecond() != 999999000 {
		t.Errorf("geo 900012 fraction not truncated to µs: %v", time.UnixMicro(ts.Micros).UTC())
	}
	coords := map[int64]Coords{
		900020: {90, 180, true}, 900021: {-90, -180, true}, 900022: {}, 900023: {}, 900024: {-45.5, 170.25, true}, 900025: {},
	}
	for ind, want := range coords {
		if got := geos[ind].Coordinates; got != want {
			t.Errorf("geo %d coordinates = %+v, want %+v", ind, got, want)
		}
	}

	users := map[int64]User{}
	for _, l := range cleanFixture(t, TableUser, 0).Lines {
		if u, ok := l.Row.(User); ok {
			users[u.Ind] = u
		}
	}
	ages := map[int64]Int32{
		900020: {}, 900021: {0, true}, 900022: {17, true}, 900023: {18, true}, 900024: {24, true}, 900025: {25, true},
		900026: {35, true}, 900027: {36, true}, 900028: {50, true}, 900029: {51, true}, 900030: {130, true},
		900031: {}, 900032: {20, true}, 900033: {}, 900034: {30, true}, 900035: {},
	}
	for ind, want := range ages {
		if got := users[ind].Age; got != want {
			t.Errorf("user %d age = %+v, want %+v", ind, got, want)
		}
	}
	if u := users[900035]; u.UserName.Valid {
		t.Errorf("user 900035 user_name = %+v, want null", u.UserName)
	}
	if u := users[900007]; u.UserName != (Str{"Solo", true}) || u.Age.Valid || u.DateJoined.Valid {
		t.Errorf("user 900007 = %+v, want Solo with null age and date_joined", u)
	}
	if u := users[900016]; u.DateJoined.Valid {
		t.Errorf("user 900016 date_joined 2020-02-30 = %+v, want null", u.DateJoined)
	}
}
