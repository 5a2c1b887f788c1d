package devstack

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// NewPostgresSchema creates a fresh, uniquely named PostgreSQL schema for one
// test and returns e.PostgresURL with search_path set to it (a run-time
// parameter pgx sends when it connects), so that unqualified names are
// created and found there: the tables of iceberg-go's SQL catalog, for one,
// which it creates unqualified and looks up in current_schema(). t.Cleanup
// drops the schema with everything in it, unless the test failed (then it is
// kept for inspection and its name logged). e must come from
// Require(t, Postgres) and its PostgresURL be a postgres:// URL.
func (e Env) NewPostgresSchema(t testing.TB) string {
	t.Helper()
	if e.PostgresURL == "" {
		t.Fatalf("devstack: NewPostgresSchema needs an Env from Require(t, devstack.Postgres)")
	}
	u, err := url.Parse(e.PostgresURL)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		t.Fatalf("devstack: NewPostgresSchema needs a postgres:// URL in %s", EnvPostgresURL)
	}
	schema := uniqueName(t.Name(), "_")
	if err := execPostgres(t.Context(), e.PostgresURL, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("devstack: creating schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("devstack: keeping PostgreSQL schema %s at %s for inspection", schema, u.Redacted())
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := execPostgres(ctx, e.PostgresURL, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Logf("devstack: dropping schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// execPostgres runs one statement on a connection of its own.
func execPostgres(ctx context.Context, url, stmt string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}
