package sample

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// mysqlDSN is the database of the integration tests: $PINPIPE_MYSQL_DSN, or
// the local MariaDB.
func mysqlDSN() string {
	if v := os.Getenv("PINPIPE_MYSQL_DSN"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/test"
}

// openDB opens the integration-test database, skipping under -short and
// failing with how to start MariaDB when it is unreachable.
func openDB(tb testing.TB) *sql.DB {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test: needs MariaDB (skipped with -short)")
	}
	dsn := mysqlDSN()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		tb.Fatalf("opening %s: %v", dsn, err)
	}
	tb.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		tb.Fatalf("MariaDB unreachable at %s: %v\n"+
			"start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` "+
			"(or `service mariadb start`; install with apt-get install -y mariadb-server); it must accept root "+
			"with no password on 127.0.0.1:3306, database test, or set PINPIPE_MYSQL_DSN; "+
			"run `go test -short` to skip integration tests", dsn, err)
	}
	return db
}

// privateTables returns table names private to this test and drops them at
// the end.
func privateTables(tb testing.TB, db *sql.DB) Tables {
	tb.Helper()
	names := WithSuffix(fmt.Sprintf("t%d_%d", os.Getpid(), time.Now().UnixNano()%1e9))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := DropTables(ctx, db, names); err != nil {
			tb.Errorf("dropping test tables: %v", err)
		}
	})
	return names
}

func TestTablesValidate(t *testing.T) {
	tests := []struct {
		name  string
		names Tables
		ok    bool
	}{
		{"default", DefaultTables, true},
		{"suffixed", WithSuffix("t1"), true},
		{"empty", Tables{Pin: "a", Geo: "", User: "c"}, false},
		{"backtick", Tables{Pin: "a`; DROP TABLE x; --", Geo: "b", User: "c"}, false},
		{"dot", Tables{Pin: "db.a", Geo: "b", User: "c"}, false},
		{"same names", Tables{Pin: "a", Geo: "a", User: "c"}, false},
		{"too long", Tables{Pin: strings.Repeat("a", 65), Geo: "b", User: "c"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.names.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrTableName) {
				t.Fatalf("error %v is not ErrTableName", err)
			}
		})
	}
}

func TestLoadMySQL(t *testing.T) {
	db := openDB(t)
	ctx := t.Context()
	names := privateTables(t, db)
	const rows = 11_000
	g := New(21)

	if err := CreateTables(ctx, db, names); err != nil {
		t.Fatal(err)
	}
	var calls, last atomic.Int64
	start := time.Now()
	if err := Load(ctx, db, names, g, rows, func(done int) { calls.Add(1); last.Store(int64(done)) }); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d rows in %v", rows, time.Since(start))
	if want := int64((rows + LoadBatchRows - 1) / LoadBatchRows); calls.Load() != want || last.Load() != rows {
		t.Errorf("progress called %d times, last %d; want %d times, last %d", calls.Load(), last.Load(), want, rows)
	}

	for _, tbl := range []string{names.Pin, names.Geo, names.User} {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+tbl+"`").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != rows {
			t.Errorf("%s has %d rows, want %d", tbl, n, rows)
		}
	}

	// A few rows back, compared with the generator; plus every row with a
	// NULL name, padding or an out-of-range value among the first 2000.
	check := []int{0, 1, 499, 500, 5000, rows - 1}
	for i := range 2000 {
		r := g.Row(i)
		if r.User.FirstName == "" || r.User.LastName == "" || r.Geo.Latitude > 90 || r.Geo.Longitude < -180 ||
			strings.TrimSpace(r.Pin.Title) != r.Pin.Title || strings.TrimSpace(r.Geo.Country) != r.Geo.Country {
			check = append(check, i)
		}
	}
	for _, i := range check {
		want := g.Row(i)
		var got Row
		var ts, joined string
		var first, last sql.NullString
		err := db.QueryRowContext(ctx, "SELECT `index`, unique_id, title, description, poster_name, follower_count, "+
			"tag_list, is_image_or_video, image_src, downloaded, save_location, category FROM `"+names.Pin+"` WHERE `index` = ?", i).
			Scan(&got.Pin.Index, &got.Pin.UniqueID, &got.Pin.Title, &got.Pin.Description, &got.Pin.PosterName,
				&got.Pin.FollowerCount, &got.Pin.TagList, &got.Pin.IsImageOrVideo, &got.Pin.ImageSrc, &got.Pin.Downloaded,
				&got.Pin.SaveLocation, &got.Pin.Category)
		if err != nil {
			t.Fatalf("row %d of %s: %v", i, names.Pin, err)
		}
		err = db.QueryRowContext(ctx, "SELECT ind, `timestamp`, latitude, longitude, country FROM `"+names.Geo+"` WHERE ind = ?", i).
			Scan(&got.Geo.Ind, &ts, &got.Geo.Latitude, &got.Geo.Longitude, &got.Geo.Country)
		if err != nil {
			t.Fatalf("row %d of %s: %v", i, names.Geo, err)
		}
		err = db.QueryRowContext(ctx, "SELECT ind, first_name, last_name, age, date_joined FROM `"+names.User+"` WHERE ind = ?", i).
			Scan(&got.User.Ind, &first, &last, &got.User.Age, &joined)
		if err != nil {
			t.Fatalf("row %d of %s: %v", i, names.User, err)
		}
		if (first.Valid && first.String == "") || (last.Valid && last.String == "") {
			t.Errorf("row %d: empty name stored instead of NULL", i)
		}
		got.User.FirstName, got.User.LastName = first.String, last.String
		got.Geo.Timestamp, err = time.Parse(DateTimeLayout, ts)
		if err != nil {
			t.Fatalf("row %d: timestamp %q: %v", i, ts, err)
		}
		got.User.DateJoined, err = time.Parse(DateTimeLayout, joined)
		if err != nil {
			t.Fatalf("row %d: date_joined %q: %v", i, joined, err)
		}
		// The emitter's records are the generator's records.
		for _, c := range []struct{ name, got, want string }{
			{"pin", string(got.PinJSON()), string(want.PinJSON())},
			{"geo", string(got.GeoJSON()), string(want.GeoJSON())},
			{"user", string(got.UserJSON()), string(want.UserJSON())},
		} {
			if c.got != c.want {
				t.Errorf("row %d %s read back:\n got %s\nwant %s", i, c.name, c.got, c.want)
			}
		}
	}

	// Loading again into fresh tables works (CreateTables drops first).
	if err := CreateTables(ctx, db, names); err != nil {
		t.Fatal(err)
	}
	if err := Load(ctx, db, names, g, 3, nil); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name  string
		names Tables
		g     *Generator
		rows  int
	}{
		{"bad names", Tables{Pin: "x`", Geo: "b", User: "c"}, New(1), 1},
		{"nil generator", DefaultTables, nil, 1},
		{"negative rows", DefaultTables, New(1), -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No database needed: the arguments are checked first.
			if err := Load(ctx, nil, tc.names, tc.g, tc.rows, nil); err == nil {
				t.Fatal("Load succeeded")
			}
		})
	}
}
