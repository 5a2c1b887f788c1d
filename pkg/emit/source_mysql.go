package emit

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// requiredColumns are the columns of data.md §1 each table must have; the
// first is the row key. Other columns are sent too.
var requiredColumns = [3][]string{
	{"index", "unique_id", "title", "description", "poster_name", "follower_count", "tag_list",
		"is_image_or_video", "image_src", "downloaded", "save_location", "category"},
	{"ind", "timestamp", "latitude", "longitude", "country"},
	{"ind", "first_name", "last_name", "age", "date_joined"},
}

// fetchChunk is the number of keys per SELECT ... WHERE key IN (...).
const fetchChunk = 1000

// MySQLSource reads the three source tables of a MySQL or MariaDB database.
//
// Row number i is the i-th row of each table in key order (the original's
// "LIMIT i, 1" without its O(i) cost): Open reads the keys of every table
// once (a few bytes per row), and Fetch reads a batch of rows by primary key,
// SELECT * FROM t WHERE key IN (...), 1000 keys per query, the three tables
// concurrently. Memory is bounded by the batch, not the table, and random
// order with replacement costs the same as sequential order. A table with
// fewer rows than the others has no record for the missing row numbers.
//
// Values are written as the original did with json.dumps of the row:
// DATETIME as "YYYY-MM-DD HH:MM:SS", numbers (INT, DECIMAL, DOUBLE) as JSON
// numbers, NULL as null, everything else as strings.
//
// The encoded records of the first MySQLCacheRows distinct rows read are
// kept: the original sends rows with replacement, so a table of that size is
// read from the database once and then served from memory.
type MySQLSource struct {
	db     *sql.DB
	names  [3]string
	keyCol [3]string
	keys   [3][]int64
	cache  map[int][]Record // by row number; read-only once stored
}

// MySQLCacheRows bounds the rows a MySQLSource keeps in memory (about 3 KB
// each with the sample data).
const MySQLCacheRows = 50000

// OpenMySQL connects to dsn (go-sql-driver syntax), checks that the tables
// exist with the columns of data.md §1 and reads their keys.
func OpenMySQL(ctx context.Context, dsn string, tables sample.Tables) (*MySQLSource, error) {
	if err := tables.Validate(); err != nil {
		return nil, err
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mysql DSN: %w", err)
	}
	cfg.ParseTime = false // DATETIME as its text, written as is
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql DSN: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxIdleConns(4)
	s := &MySQLSource{db: db, names: [3]string{tables.Pin, tables.Geo, tables.User}}
	if err := s.check(ctx, cfg); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *MySQLSource) check(ctx context.Context, cfg *mysql.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("mysql %s@%s/%s unreachable: %w", cfg.User, cfg.Addr, cfg.DBName, err)
	}
	for k, name := range s.names {
		rows, err := s.db.QueryContext(ctx, "SELECT * FROM `"+name+"` LIMIT 0")
		if err != nil {
			var me *mysql.MySQLError
			if errors.As(err, &me) && me.Number == 1146 {
				return fmt.Errorf("mysql table %s does not exist in database %s (run emit seed-db?)", name, cfg.DBName)
			}
			return fmt.Errorf("mysql: reading columns of table %s: %w", name, err)
		}
		cols, err := rows.Columns()
		rows.Close()
		if err != nil {
			return fmt.Errorf("mysql: reading columns of table %s: %w", name, err)
		}
		have := map[string]bool{}
		for _, c := range cols {
			have[c] = true
		}
		for _, c := range requiredColumns[k] {
			if !have[c] {
				return fmt.Errorf("mysql table %s has no column %q (want %s)", name, c, strings.Join(requiredColumns[k], ", "))
			}
		}
		s.keyCol[k] = requiredColumns[k][0]
		if s.keys[k], err = s.readKeys(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

func (s *MySQLSource) readKeys(ctx context.Context, k int) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT `"+s.keyCol[k]+"` FROM `"+s.names[k]+"` ORDER BY `"+s.keyCol[k]+"`")
	if err != nil {
		return nil, fmt.Errorf("mysql: reading the keys of table %s: %w", s.names[k], err)
	}
	defer rows.Close()
	var keys []int64
	for rows.Next() {
		var key int64
		if err := rows.Scan(&key); err != nil {
			return nil, fmt.Errorf("mysql table %s: column %s must be an integer: %w", s.names[k], s.keyCol[k], err)
		}
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mysql: reading the keys of table %s: %w", s.names[k], err)
	}
	return keys, nil
}

// Len is the number of rows of the largest table.
func (s *MySQLSource) Len() int {
	return max(len(s.keys[0]), len(s.keys[1]), len(s.keys[2]))
}

// Fetch reads the rows with the given numbers.
func (s *MySQLSource) Fetch(ctx context.Context, nums []int) ([]Row, error) {
	if s.cache == nil {
		s.cache = map[int][]Record{}
	}
	var miss []int
	for _, n := range nums {
		if _, ok := s.cache[n]; !ok {
			miss = append(miss, n)
		}
	}
	if len(miss) > 0 {
		fetched, err := s.fetch(ctx, miss)
		if err != nil {
			return nil, err
		}
		rows := make([]Row, len(nums))
		for j, n := range nums {
			recs, ok := s.cache[n]
			if !ok {
				recs = fetched[n]
			}
			rows[j] = Row{Num: n, Records: recs}
		}
		return rows, nil
	}
	rows := make([]Row, len(nums))
	for j, n := range nums {
		rows[j] = Row{Num: n, Records: s.cache[n]}
	}
	return rows, nil
}

// fetch reads rows from the database and caches them while there is room.
func (s *MySQLSource) fetch(ctx context.Context, nums []int) (map[int][]Record, error) {
	var vals [3]map[int64][]byte
	errs := make(chan error, 3)
	for k := range clean.Tables {
		go func() {
			var err error
			vals[k], err = s.fetchTable(ctx, k, nums)
			errs <- err
		}()
	}
	var err error
	for range clean.Tables {
		err = errors.Join(err, <-errs)
	}
	if err != nil {
		return nil, err
	}
	out := make(map[int][]Record, len(nums))
	for _, n := range nums {
		if _, ok := out[n]; ok {
			continue
		}
		recs := make([]Record, 0, 3)
		for k, t := range clean.Tables {
			if n >= len(s.keys[k]) {
				continue
			}
			key := s.keys[k][n]
			v, ok := vals[k][key]
			if !ok {
				continue // deleted since Open
			}
			recs = append(recs, Record{Table: t, Key: strconv.FormatInt(key, 10), Value: v})
		}
		out[n] = recs
		if len(s.cache) < MySQLCacheRows {
			s.cache[n] = recs
		}
	}
	return out, nil
}

// fetchTable reads the distinct rows of table k that nums name, as JSON by key.
func (s *MySQLSource) fetchTable(ctx context.Context, k int, nums []int) (map[int64][]byte, error) {
	out := make(map[int64][]byte, len(nums))
	var want []int64
	for _, n := range nums {
		if n < len(s.keys[k]) {
			key := s.keys[k][n]
			if _, ok := out[key]; !ok {
				out[key] = nil
				want = append(want, key)
			}
		}
	}
	for len(want) > 0 {
		chunk := want[:min(len(want), fetchChunk)]
		want = want[len(chunk):]
		if err := s.query(ctx, k, chunk, out); err != nil {
			return nil, err
		}
	}
	for key, v := range out {
		if v == nil {
			delete(out, key)
		}
	}
	return out, nil
}

func (s *MySQLSource) query(ctx context.Context, k int, keys []int64, out map[int64][]byte) error {
	q := make([]byte, 0, 64+len(keys)*8)
	q = append(q, "SELECT * FROM `"+s.names[k]+"` WHERE `"+s.keyCol[k]+"` IN ("...)
	for j, key := range keys {
		if j > 0 {
			q = append(q, ',')
		}
		q = strconv.AppendInt(q, key, 10)
	}
	q = append(q, ')')
	// No arguments: the text protocol, one round trip, values as MySQL
	// prints them (DOUBLE in its shortest form, DATETIME as text).
	rows, err := s.db.QueryContext(ctx, string(q))
	if err != nil {
		return fmt.Errorf("mysql: reading table %s: %w", s.names[k], err)
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return fmt.Errorf("mysql: reading table %s: %w", s.names[k], err)
	}
	kinds := make([]valueKind, len(cols))
	keyIdx := -1
	for c, ct := range cols {
		kinds[c] = kindOf(ct.DatabaseTypeName())
		if ct.Name() == s.keyCol[k] {
			keyIdx = c
		}
	}
	raw := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for c := range raw {
		dest[c] = &raw[c]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("mysql: reading table %s: %w", s.names[k], err)
		}
		key, err := strconv.ParseInt(string(raw[keyIdx]), 10, 64)
		if err != nil {
			return fmt.Errorf("mysql table %s: key %q is not an integer", s.names[k], raw[keyIdx])
		}
		b := make([]byte, 0, 256)
		b = append(b, '{')
		for c, ct := range cols {
			if c > 0 {
				b = append(b, ',')
			}
			b = sample.AppendJSONString(b, ct.Name())
			b = append(b, ':')
			b = appendValue(b, kinds[c], raw[c])
		}
		out[key] = append(b, '}')
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("mysql: reading table %s: %w", s.names[k], err)
	}
	return nil
}

// Close closes the database.
func (s *MySQLSource) Close() error { return s.db.Close() }

type valueKind int

const (
	kindString valueKind = iota
	kindNumber
)

func kindOf(dbType string) valueKind {
	t := strings.TrimPrefix(dbType, "UNSIGNED ")
	switch t {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "DECIMAL", "FLOAT", "DOUBLE", "YEAR":
		return kindNumber
	}
	return kindString // text, DATETIME ("YYYY-MM-DD HH:MM:SS" as MySQL prints it), ...
}

func appendValue(b []byte, kind valueKind, v sql.RawBytes) []byte {
	switch {
	case v == nil:
		return append(b, "null"...)
	case kind == kindNumber && json.Valid(v) && v[0] != '"':
		return append(b, v...)
	}
	return sample.AppendJSONString(b, string(v))
}

// DSNFromEnv is the environment variable holding the source DSN.
const DSNFromEnv = "PINPIPE_MYSQL_DSN"

// DefaultCredsFiles are the credentials files ReadCreds looks for when it is
// given none, in this order: the original's scripts read db_creds.yaml; the
// .yml spelling is accepted too.
var DefaultCredsFiles = []string{"db_creds.yaml", "db_creds.yml"}

// ReadCreds reads the original's credentials file (flat "KEY: value" lines:
// RDS_HOST, RDS_PORT, RDS_USER, RDS_PASSWORD, RDS_DATABASE) and returns a
// go-sql-driver DSN. An empty path is the first of DefaultCredsFiles that
// exists in the working directory. warning is not empty when the file is
// readable by group or others.
func ReadCreds(path string) (dsn, warning string, err error) {
	if path == "" {
		for _, name := range DefaultCredsFiles {
			if _, err := os.Stat(name); err == nil {
				path = name
				break
			}
		}
		if path == "" {
			return "", "", fmt.Errorf("reading credentials: neither %s is in the working directory", strings.Join(DefaultCredsFiles, " nor "))
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("reading credentials: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		warning = fmt.Sprintf("%s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") || text == "---" {
			continue
		}
		key, val, ok := strings.Cut(text, ":")
		if !ok {
			return "", warning, fmt.Errorf("%s line %d: want KEY: value", path, line)
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			if val[0] == '"' {
				if uq, err := strconv.Unquote(val); err == nil {
					val = uq
				} else {
					val = val[1 : len(val)-1]
				}
			} else {
				val = strings.ReplaceAll(val[1:len(val)-1], "''", "'")
			}
		} else if i := strings.Index(val, " #"); i >= 0 {
			val = strings.TrimSpace(val[:i])
		}
		vals[strings.TrimSpace(key)] = val
	}
	if err := sc.Err(); err != nil {
		return "", warning, fmt.Errorf("reading %s: %w", path, err)
	}
	for _, k := range []string{"RDS_HOST", "RDS_USER", "RDS_DATABASE"} {
		if vals[k] == "" {
			return "", warning, fmt.Errorf("%s: no %s", path, k)
		}
	}
	port := vals["RDS_PORT"]
	if port == "" {
		port = "3306"
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = vals["RDS_USER"], vals["RDS_PASSWORD"], vals["RDS_DATABASE"]
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(vals["RDS_HOST"], port)
	return cfg.FormatDSN(), warning, nil
}

// ParseMySQLURL turns the part after "mysql://" into a go-sql-driver DSN. It
// takes the driver's own syntax (user:pass@tcp(host:3306)/db) or URL syntax
// (user:pass@host:3306/db?param=v).
func ParseMySQLURL(s string) (string, error) {
	if strings.Contains(s, "(") {
		if _, err := mysql.ParseDSN(s); err != nil {
			return "", fmt.Errorf("mysql DSN: %w", err)
		}
		return s, nil
	}
	u, err := url.Parse("mysql://" + s)
	if err != nil {
		return "", fmt.Errorf("mysql URL: %w", err)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	host := u.Host
	if u.Port() == "" && host != "" {
		host = net.JoinHostPort(u.Hostname(), "3306")
	}
	cfg.Net, cfg.Addr = "tcp", host
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	dsn := cfg.FormatDSN()
	if u.RawQuery != "" {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + u.RawQuery
	}
	if _, err := mysql.ParseDSN(dsn); err != nil {
		return "", fmt.Errorf("mysql URL: %w", err)
	}
	return dsn, nil
}
