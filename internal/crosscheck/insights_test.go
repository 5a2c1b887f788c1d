// Package crosscheck holds tests that check pinpipe's results with an
// independent engine: the nine insight tables of a batch run are computed
// again in DuckDB SQL from the clean tables the run wrote, and must be equal,
// row for row and type for type, to the insight tables the run wrote.
package crosscheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

const ageGroup = `CASE WHEN u.age < 18 THEN '0-17' WHEN u.age <= 24 THEN '18-24' WHEN u.age <= 35 THEN '25-35'
	WHEN u.age <= 50 THEN '36-50' ELSE '51+' END`

// insightSQL is insights.md written as SQL, over views pin, geo and user.
var insightSQL = map[string]string{
	"popular_category_by_country": `
		WITH c AS (SELECT g.country, p.category, count(*) AS category_count
			FROM pin p JOIN geo g USING (ind) WHERE g.country IS NOT NULL AND p.category IS NOT NULL GROUP BY ALL)
		SELECT country, category, category_count FROM c
		QUALIFY category_count = max(category_count) OVER (PARTITION BY country) ORDER BY country, category`,
	"popular_category_by_year": `
		WITH c AS (SELECT CAST(year(g.timestamp) AS INTEGER) AS post_year, p.category, count(*) AS category_count
			FROM pin p JOIN geo g USING (ind) WHERE g.timestamp IS NOT NULL AND p.category IS NOT NULL
			AND year(g.timestamp) BETWEEN 2018 AND 2022 GROUP BY ALL)
		SELECT post_year, category, category_count FROM c
		QUALIFY category_count = max(category_count) OVER (PARTITION BY post_year) ORDER BY post_year, category`,
	"most_followed_user_by_country": `
		WITH c AS (SELECT DISTINCT g.country, p.poster_name, p.follower_count FROM pin p JOIN geo g USING (ind)
			WHERE g.country IS NOT NULL AND p.poster_name IS NOT NULL AND p.follower_count IS NOT NULL)
		SELECT country, poster_name, follower_count FROM c
		QUALIFY follower_count = max(follower_count) OVER (PARTITION BY country) ORDER BY country, poster_name`,
	"country_with_most_followed_user": `
		WITH c AS (SELECT DISTINCT g.country, p.poster_name, p.follower_count FROM pin p JOIN geo g USING (ind)
			WHERE g.country IS NOT NULL AND p.poster_name IS NOT NULL AND p.follower_count IS NOT NULL),
		t3 AS (SELECT * FROM c QUALIFY follower_count = max(follower_count) OVER (PARTITION BY country))
		SELECT DISTINCT country, follower_count FROM t3
		WHERE follower_count = (SELECT max(follower_count) FROM t3) ORDER BY country`,
	"popular_category_by_age_group": `
		WITH c AS (SELECT ` + ageGroup + ` AS age_group, p.category, count(*) AS category_count
			FROM pin p JOIN user u USING (ind) WHERE u.age IS NOT NULL AND p.category IS NOT NULL GROUP BY ALL)
		SELECT age_group, category, category_count FROM c
		QUALIFY category_count = max(category_count) OVER (PARTITION BY age_group) ORDER BY age_group, category`,
	"median_followers_by_age_group": `
		SELECT ` + ageGroup + ` AS age_group, quantile_disc(p.follower_count, 0.5) AS median_follower_count
		FROM pin p JOIN user u USING (ind) WHERE u.age IS NOT NULL AND p.follower_count IS NOT NULL
		GROUP BY ALL ORDER BY age_group`,
	"users_joined_by_year": `
		WITH d AS (SELECT DISTINCT user_name, date_joined FROM user WHERE user_name IS NOT NULL AND date_joined IS NOT NULL)
		SELECT CAST(year(date_joined) AS INTEGER) AS post_year, count(*) AS number_users_joined FROM d
		WHERE year(date_joined) BETWEEN 2015 AND 2020 GROUP BY ALL ORDER BY post_year`,
	"median_followers_by_join_year": `
		SELECT CAST(year(u.date_joined) AS INTEGER) AS post_year, quantile_disc(p.follower_count, 0.5) AS median_follower_count
		FROM pin p JOIN user u USING (ind) WHERE year(u.date_joined) BETWEEN 2015 AND 2020 AND p.follower_count IS NOT NULL
		GROUP BY ALL ORDER BY post_year`,
	"median_followers_by_age_group_and_join_year": `
		SELECT ` + ageGroup + ` AS age_group, CAST(year(u.date_joined) AS INTEGER) AS post_year,
			quantile_disc(p.follower_count, 0.5) AS median_follower_count
		FROM pin p JOIN user u USING (ind)
		WHERE u.age IS NOT NULL AND year(u.date_joined) BETWEEN 2015 AND 2020 AND p.follower_count IS NOT NULL
		GROUP BY ALL ORDER BY age_group, post_year`,
}

func TestInsightsAgreeWithDuckDB(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (DuckDB)")
	}
	ctx := t.Context()
	dir := t.TempDir()
	in, err := objstore.Open(ctx, filepath.Join(dir, "topics"), objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 4,000 posts drawn with replacement from 1,500 rows: duplicates, dirt,
	// rejected lines, every timestamp form.
	const seed, rows, posts = 7, 1500, 4000
	g := sample.New(seed)
	layout := batchtest.Layout{Partitions: 3, PerObject: 250}
	writers := map[string]*batchtest.Writer{}
	for _, table := range []string{"pin", "geo", "user"} {
		writers[table] = batchtest.NewWriter(in, "x."+table, layout)
	}
	for _, i := range sample.Posts(seed, rows, posts) {
		pin, geo, user := g.DirtyRecords(i)
		for table, rec := range map[string][]byte{"pin": pin, "geo": geo, "user": user} {
			if err := writers[table].Add(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, w := range writers {
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out")
	res, err := batch.Run(ctx, batch.Config{Input: filepath.Join(dir, "topics"), Prefix: "x", Output: out, Date: "2026-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(out, "dt=2026-11-25")
	if _, err := os.Stat(filepath.Join(run, "_SUCCESS")); err != nil {
		t.Fatalf("run not published: %v", err)
	}

	stmts := []string{"SET TimeZone = 'UTC'"}
	for _, table := range []string{"pin", "geo", "user"} {
		stmts = append(stmts, fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet('%s/clean/%s/*.parquet', hive_partitioning = false)", table, run, table))
	}
	names := insights.Names()
	for _, name := range names {
		stmts = append(stmts, insightSQL[name], fmt.Sprintf("SELECT * FROM read_parquet('%s/insights/%s/*.parquet', hive_partitioning = false)", run, name))
	}
	results := devstack.DuckDB(t, stmts...)[4:]
	nonEmpty := 0
	for i, name := range names {
		want, _ := json.Marshal(results[2*i])
		got, _ := json.Marshal(results[2*i+1])
		if string(got) != string(want) {
			t.Errorf("%s: pinpipe wrote\n%s\nDuckDB computes\n%s", name, got, want)
		}
		if len(results[2*i]) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty != len(names) {
		t.Errorf("%d of %d insight tables are non-empty; the data should fill every table", nonEmpty, len(names))
	}
	t.Logf("clean rows: pin %d, geo %d, user %d; the nine tables are equal", res.Quality.Pin.RowsWritten, res.Quality.Geo.RowsWritten, res.Quality.User.RowsWritten)
}
