package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// DuckDBVersion is the pinned version of DuckDB's Node.js client, installed
// from the npm registry (its native engine ships as an npm package). It is an
// independent Parquet reader for the tests and the demo.
const DuckDBVersion = "1.5.6-r.1"

const duckScript = `import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const conn = await inst.connect();
const out = [];
for (const sql of JSON.parse(process.argv[2])) {
  const r = await conn.runAndReadAll(sql);
  out.push(r.getRowObjectsJson());
}
console.log(JSON.stringify(out));
`

// DuckDBDir returns where EnsureDuckDB installs the DuckDB client.
func DuckDBDir(root string) string { return filepath.Join(root, ".cache", "duckdb") }

// EnsureDuckDB installs @duckdb/node-api into ROOT/.cache/duckdb unless it is
// there already, and returns the path of a Node.js script that runs the SQL
// statements given as a JSON array in its first argument and prints each
// statement's rows as a JSON array.
func EnsureDuckDB(ctx context.Context, root string, log *slog.Logger) (string, error) {
	dir := DuckDBDir(root)
	script := filepath.Join(dir, "query.mjs")
	ready := func() bool {
		return isFile(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")) && isFile(script)
	}
	if ready() {
		return script, nil
	}
	unlock, err := lockInstall(root)
	if err != nil {
		return "", err
	}
	defer unlock()
	if ready() {
		return script, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("installing DuckDB: npm not found (install Node.js >= 18): %w", err)
	}
	logger(log).Info("installing DuckDB's Node.js client (first time only)", "version", DuckDBVersion, "to", dir)
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "@duckdb/node-api@"+DuckDBVersion)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("installing DuckDB: %w\n%s", err, tail(out, 2000))
	}
	if err := os.WriteFile(script, []byte(duckScript), 0o644); err != nil {
		return "", fmt.Errorf("installing DuckDB: %w", err)
	}
	return script, nil
}

// DuckDB runs SQL statements in DuckDB and returns each statement's rows,
// values as DuckDB renders them in JSON. It fails the test when DuckDB cannot
// be installed or a statement fails; it skips under -short.
func DuckDB(t testing.TB, stmts ...string) [][]map[string]any {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test (DuckDB)")
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	script, err := EnsureDuckDB(context.Background(), root, nil)
	if err != nil {
		t.Fatalf("devstack: %v", err)
	}
	arg, err := json.Marshal(stmts)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", script, string(arg))
	cmd.Dir = filepath.Dir(script)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("duckdb %q: %v\n%s", stmts, err, stderr)
	}
	var rows [][]map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("duckdb output %q: %v", out, err)
	}
	return rows
}
