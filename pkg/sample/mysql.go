package sample

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Tables names the three source tables in the database.
type Tables struct {
	Pin, Geo, User string
}

// DefaultTables are the table names of data.md §1. Read-only.
var DefaultTables = Tables{Pin: "pinterest_data", Geo: "geolocation_data", User: "user_data"}

// WithSuffix returns the default names followed by "_" and suffix, so tests
// can use private tables side by side ("pinterest_data_t42").
func WithSuffix(suffix string) Tables {
	return Tables{
		Pin:  DefaultTables.Pin + "_" + suffix,
		Geo:  DefaultTables.Geo + "_" + suffix,
		User: DefaultTables.User + "_" + suffix,
	}
}

// ErrTableName is returned for a table name that is not 1-64 characters of
// [A-Za-z0-9_$].
var ErrTableName = errors.New("invalid table name")

// Validate checks that every name is a plain identifier, safe to put between
// backticks.
func (t Tables) Validate() error {
	for _, n := range []string{t.Pin, t.Geo, t.User} {
		if n == "" || len(n) > 64 || strings.TrimFunc(n, func(c rune) bool {
			return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		}) != "" {
			return fmt.Errorf("%w: %q", ErrTableName, n)
		}
	}
	if t.Pin == t.Geo || t.Pin == t.User || t.Geo == t.User {
		return fmt.Errorf("%w: names must differ: %+v", ErrTableName, t)
	}
	return nil
}

// The column types of data.md §1.
//
// latitude and longitude are DOUBLE rather than DECIMAL(10,6): the generator
// makes float64 values (4 decimals, some out of range such as 95 or -200) and
// DOUBLE stores any float64 exactly, so the value read back and emitted is
// the generated one, in the short form of the spec's examples (-89.9787),
// where DECIMAL(10,6) would send "-89.978700" and round anything finer than
// 1e-6. Text is utf8mb4 (emoji fit) with the binary collation, so values
// compare byte for byte and trailing white space is kept.
const (
	pinColumns = "`index` INT NOT NULL, unique_id VARCHAR(36), title TEXT, description TEXT, " +
		"poster_name TEXT, follower_count VARCHAR(64), tag_list TEXT, is_image_or_video VARCHAR(64), " +
		"image_src TEXT, downloaded INT, save_location VARCHAR(255), category VARCHAR(64), PRIMARY KEY (`index`)"
	geoColumns = "ind INT NOT NULL, `timestamp` DATETIME, latitude DOUBLE, longitude DOUBLE, country VARCHAR(255), " +
		"PRIMARY KEY (ind)"
	userColumns = "ind INT NOT NULL, first_name VARCHAR(255) NULL, last_name VARCHAR(255) NULL, age INT, " +
		"date_joined DATETIME, PRIMARY KEY (ind)"
	tableOptions = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
)

// CreateTables drops and creates the three tables named by names.
func CreateTables(ctx context.Context, db *sql.DB, names Tables) error {
	if err := names.Validate(); err != nil {
		return err
	}
	if err := DropTables(ctx, db, names); err != nil {
		return err
	}
	for _, t := range []struct{ name, cols string }{
		{names.Pin, pinColumns}, {names.Geo, geoColumns}, {names.User, userColumns},
	} {
		q := "CREATE TABLE `" + t.name + "` (" + t.cols + ")" + tableOptions
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating table %s: %w", t.name, err)
		}
	}
	return nil
}

// DropTables drops the three tables named by names if they exist.
func DropTables(ctx context.Context, db *sql.DB, names Tables) error {
	if err := names.Validate(); err != nil {
		return err
	}
	for _, n := range []string{names.Pin, names.Geo, names.User} {
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS `"+n+"`"); err != nil {
			return fmt.Errorf("dropping table %s: %w", n, err)
		}
	}
	return nil
}

// DefaultRows is the number of rows of the default sample (the size of the
// original data set).
const DefaultRows = 11_000

// LoadBatchRows is the number of rows per multi-row INSERT; each batch (one
// INSERT per table) is one transaction.
const LoadBatchRows = 500

// Load inserts rows 0 .. rows-1 of g into the three tables, which must exist
// and be empty. progress, when not nil, is called after each committed batch
// with the number of rows done so far.
func Load(ctx context.Context, db *sql.DB, names Tables, g *Generator, rows int, progress func(done int)) error {
	if err := names.Validate(); err != nil {
		return err
	}
	if g == nil {
		return errors.New("loading sample rows: nil generator")
	}
	if rows < 0 {
		return fmt.Errorf("loading sample rows: negative row count %d", rows)
	}
	for start := 0; start < rows; start += LoadBatchRows {
		end := min(start+LoadBatchRows, rows)
		if err := loadBatch(ctx, db, names, g, start, end); err != nil {
			return fmt.Errorf("loading rows %d-%d: %w", start, end-1, err)
		}
		if progress != nil {
			progress(end)
		}
	}
	return nil
}

func loadBatch(ctx context.Context, db *sql.DB, names Tables, g *Generator, start, end int) (err error) {
	n := end - start
	pinArgs := make([]any, 0, n*12)
	geoArgs := make([]any, 0, n*5)
	userArgs := make([]any, 0, n*5)
	for i := start; i < end; i++ {
		r := g.Row(i)
		p, ge, u := r.Pin, r.Geo, r.User
		pinArgs = append(pinArgs, p.Index, p.UniqueID, p.Title, p.Description, p.PosterName, p.FollowerCount,
			p.TagList, p.IsImageOrVideo, p.ImageSrc, p.Downloaded, p.SaveLocation, p.Category)
		geoArgs = append(geoArgs, ge.Ind, formatDateTime(ge.Timestamp), ge.Latitude, ge.Longitude, ge.Country)
		userArgs = append(userArgs, u.Ind, nullable(u.FirstName), nullable(u.LastName), u.Age, formatDateTime(u.DateJoined))
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for _, s := range []struct {
		table, cols string
		width       int
		args        []any
	}{
		{names.Pin, "`index`, unique_id, title, description, poster_name, follower_count, tag_list, " +
			"is_image_or_video, image_src, downloaded, save_location, category", 12, pinArgs},
		{names.Geo, "ind, `timestamp`, latitude, longitude, country", 5, geoArgs},
		{names.User, "ind, first_name, last_name, age, date_joined", 5, userArgs},
	} {
		q := insertStatement(s.table, s.cols, s.width, n)
		if _, err = tx.ExecContext(ctx, q, s.args...); err != nil {
			return fmt.Errorf("inserting into %s: %w", s.table, err)
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// insertStatement returns INSERT INTO `table` (cols) VALUES (?,..),.. for n rows.
func insertStatement(table, cols string, width, n int) string {
	tuple := "(" + strings.Repeat("?,", width-1) + "?)"
	var b strings.Builder
	b.Grow(len(table) + len(cols) + 32 + n*(len(tuple)+1))
	b.WriteString("INSERT INTO `" + table + "` (" + cols + ") VALUES ")
	for k := range n {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(tuple)
	}
	return b.String()
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
