package parquetio

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExternalReaders reads the files with DuckDB or pyarrow when either is
// installed, and skips otherwise.
func TestExternalReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
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
	geos := write("geo.parquet", func(f *os.File) error { return WriteGeos(f, testGeos(), nil, Options{}) })
	users := write("user.parquet", func(f *os.File) error { return WriteUsers(f, nil, nil, Options{}) })

	if duck, err := exec.LookPath("duckdb"); err == nil {
		q := "SELECT count(*), count(coordinates), max(coordinates[1]), typeof(max(timestamp)) FROM read_parquet('" + geos + "');" +
			"SELECT count(*) FROM read_parquet('" + users + "');"
		out, err := exec.CommandContext(t.Context(), duck, "-csv", "-noheader", "-c", q).CombinedOutput()
		if err != nil {
			t.Fatalf("duckdb: %v\n%s", err, out)
		}
		if got, want := strings.Fields(string(out)), []string{"4,2,12.5,TIMESTAMP", "WITH", "TIME", "ZONE", "0"}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("duckdb output %q, want %q", got, want)
		}
		return
	}
	py, err := exec.LookPath("python3")
	if err != nil || exec.CommandContext(t.Context(), py, "-c", "import pyarrow").Run() != nil {
		t.Skip("neither duckdb nor python3 with pyarrow is installed")
	}
	script := `
import sys, pyarrow.parquet as pq
g = pq.read_table(sys.argv[1])
u = pq.read_table(sys.argv[2])
print(g.num_rows, g.schema.field("timestamp").type, g.schema.field("coordinates").type.value_type, u.num_rows)
`
	out, err := exec.CommandContext(t.Context(), py, "-c", script, geos, users).CombinedOutput()
	if err != nil {
		t.Fatalf("pyarrow: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "4 timestamp[us, tz=UTC] double 0"; got != want {
		t.Errorf("pyarrow output %q, want %q", got, want)
	}
}
