package tables

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/clean"
)

// TestConcurrentFirstOpen starts several jobs at once on a catalog that does
// not exist yet: they race to create the catalog's own tables, the namespace
// and the pinpipe tables, and each must end with the tables open (the loser
// of a race tries again), on SQLite (one file) and on PostgreSQL.
func TestConcurrentFirstOpen(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		concurrentFirstOpen(t, Config{Catalog: "sqlite://" + filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "wh")})
	})
	t.Run("postgres", func(t *testing.T) {
		env := devstack.Require(t, devstack.Postgres)
		concurrentFirstOpen(t, Config{Catalog: env.NewPostgresSchema(t), Warehouse: t.TempDir()})
	})
}

func concurrentFirstOpen(t *testing.T, cfg Config) {
	const jobs = 6
	defs := []Def{CleanDef(clean.TablePin), StreamDef(clean.TablePin, true), StreamQuarantineDef()}
	ids := make([][]string, jobs)
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Go(func() {
			c, err := Open(t.Context(), cfg)
			if err != nil {
				t.Errorf("job %d: %v", i, err)
				return
			}
			defer c.Close()
			for _, def := range defs {
				tbl, err := c.Ensure(t.Context(), def)
				if err != nil {
					t.Errorf("job %d: %v", i, err)
					return
				}
				ids[i] = append(ids[i], tbl.tbl.Metadata().TableUUID().String())
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i := 1; i < jobs; i++ {
		for j := range defs {
			if ids[i][j] != ids[0][j] {
				t.Errorf("table %s: job %d has table %s, job 0 has %s: created twice", defs[j].Name, i, ids[i][j], ids[0][j])
			}
		}
	}
}
