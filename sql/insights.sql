-- pinpipe's nine insight queries (the contract: insights.md) as portable SQL over the clean tables pin, geo
-- and "user" that the batch job publishes as Apache Iceberg tables, for Athena, Trino or Spark when one
-- machine is not enough. Over the same clean tables, each query returns exactly the rows, columns, types and
-- order of the batch job's insight table of the same name (which has one more column, dt, the run date).
--
-- The file is a list of sections: a line "-- name: TABLE", a one-line description, then one SELECT ending in
-- a semicolon; run each on its own. The queries name the tables unqualified: select the tables' namespace
-- (pinpipe unless the jobs were given another) first. The SQL is ANSI: no QUALIFY, no GROUP BY ALL, no
-- engine-specific functions; "user" and "timestamp" are quoted because they are reserved words.
--
-- The session time zone must be UTC: years are calendar years of the UTC instant, and the timestamps are
-- Iceberg timestamptz values, whose year some engines take in the session's time zone.
--
--   Athena (engine v3): the tables as Iceberg tables in the AWS Glue Data Catalog (pinpipe's glue:// catalog
--     writes them there); choose the database pinpipe (the console's Database, or QueryExecutionContext in
--     the API). Athena's session time zone is UTC.
--   Trino: the Iceberg connector on the same catalog (iceberg.catalog.type=jdbc on pinpipe's PostgreSQL
--     catalog, rest, or glue); SET TIME ZONE 'UTC' and USE <trino catalog>.pinpipe.
--   Spark SQL 3.4 or later: the Iceberg Spark runtime, a catalog spark.sql.catalog.pinpipe =
--     org.apache.iceberg.spark.SparkCatalog configured by spark.sql.catalog.pinpipe.* (type jdbc, rest or
--     glue, uri, warehouse), and spark.sql.ansi.enabled=true, spark.sql.ansi.doubleQuotedIdentifiers=true
--     (for "user") and spark.sql.session.timeZone=UTC; then USE pinpipe.pinpipe.
--   DuckDB: SET TimeZone = 'UTC', and views pin, geo and "user" over the tables' live data files.
--
-- Checked: pinpipe's tests run every query in DuckDB over the clean tables of a batch run and compare the
-- result with the run's insight tables, row for row and type for type. Athena, Trino and Spark are not run
-- by pinpipe's tests.
--
-- Shared definitions (insights.md): joins are inner joins on ind; rows whose group key (category, country,
-- age_group, year) is null do not count; null follower_count values are left out of maxima and medians;
-- "most popular" keeps every tied row (RANK() = 1). The median is the lower median, an element of the data:
-- sort a group's n values and take the one at 1-based position ceil(n / 2), that is the position pos with
-- 2 * pos = n or n + 1 (integer arithmetic only: "/" of two integers is a fraction in DuckDB and Spark).
-- Strings are ordered by byte order (the default of these engines).

-- name: popular_category_by_country
-- The most popular category in each country: pin join geo, rows per (country, category), the maximum per country.
SELECT country, category, category_count
FROM (
    SELECT country, category, category_count,
        RANK() OVER (PARTITION BY country ORDER BY category_count DESC) AS rnk
    FROM (
        SELECT g.country, p.category, COUNT(*) AS category_count
        FROM pin p
        JOIN geo g ON g.ind = p.ind
        WHERE g.country IS NOT NULL AND p.category IS NOT NULL
        GROUP BY g.country, p.category
    ) counted
) ranked
WHERE rnk = 1
ORDER BY country, category;

-- name: popular_category_by_year
-- The most popular category of each year from 2018 to 2022 (year of the geo timestamp), pin join geo.
SELECT post_year, category, category_count
FROM (
    SELECT post_year, category, category_count,
        RANK() OVER (PARTITION BY post_year ORDER BY category_count DESC) AS rnk
    FROM (
        SELECT post_year, category, COUNT(*) AS category_count
        FROM (
            SELECT CAST(EXTRACT(YEAR FROM g."timestamp") AS INTEGER) AS post_year, p.category
            FROM pin p
            JOIN geo g ON g.ind = p.ind
        ) posts
        WHERE post_year BETWEEN 2018 AND 2022 AND category IS NOT NULL
        GROUP BY post_year, category
    ) counted
) ranked
WHERE rnk = 1
ORDER BY post_year, category;

-- name: most_followed_user_by_country
-- The user with the most followers in each country: distinct (poster_name, follower_count) pairs at the maximum.
SELECT country, poster_name, follower_count
FROM (
    SELECT country, poster_name, follower_count,
        RANK() OVER (PARTITION BY country ORDER BY follower_count DESC) AS rnk
    FROM (
        SELECT DISTINCT g.country, p.poster_name, p.follower_count
        FROM pin p
        JOIN geo g ON g.ind = p.ind
        WHERE g.country IS NOT NULL AND p.poster_name IS NOT NULL AND p.follower_count IS NOT NULL
    ) followed
) ranked
WHERE rnk = 1
ORDER BY country, poster_name;

-- name: country_with_most_followed_user
-- The country whose top user has the most followers: the rows of most_followed_user_by_country at the maximum.
WITH top_users AS (
    SELECT country, follower_count
    FROM (
        SELECT country, follower_count,
            RANK() OVER (PARTITION BY country ORDER BY follower_count DESC) AS rnk
        FROM (
            SELECT DISTINCT g.country, p.poster_name, p.follower_count
            FROM pin p
            JOIN geo g ON g.ind = p.ind
            WHERE g.country IS NOT NULL AND p.poster_name IS NOT NULL AND p.follower_count IS NOT NULL
        ) followed
    ) ranked
    WHERE rnk = 1
)
SELECT DISTINCT country, follower_count
FROM top_users
WHERE follower_count = (SELECT MAX(follower_count) FROM top_users)
ORDER BY country;

-- name: popular_category_by_age_group
-- The most popular category of each age group: pin join user, rows per (age_group, category), the maximum.
SELECT age_group, category, category_count
FROM (
    SELECT age_group, category, category_count,
        RANK() OVER (PARTITION BY age_group ORDER BY category_count DESC) AS rnk
    FROM (
        SELECT age_group, category, COUNT(*) AS category_count
        FROM (
            SELECT
                CASE WHEN u.age < 18 THEN '0-17' WHEN u.age <= 24 THEN '18-24' WHEN u.age <= 35 THEN '25-35'
                    WHEN u.age <= 50 THEN '36-50' ELSE '51+' END AS age_group,
                p.category
            FROM pin p
            JOIN "user" u ON u.ind = p.ind
            WHERE u.age IS NOT NULL AND p.category IS NOT NULL
        ) posts
        GROUP BY age_group, category
    ) counted
) ranked
WHERE rnk = 1
ORDER BY age_group, category;

-- name: median_followers_by_age_group
-- The (lower) median follower count of each age group, pin join user.
SELECT age_group, follower_count AS median_follower_count
FROM (
    SELECT age_group, follower_count,
        ROW_NUMBER() OVER (PARTITION BY age_group ORDER BY follower_count) AS pos,
        COUNT(*) OVER (PARTITION BY age_group) AS n
    FROM (
        SELECT
            CASE WHEN u.age < 18 THEN '0-17' WHEN u.age <= 24 THEN '18-24' WHEN u.age <= 35 THEN '25-35'
                WHEN u.age <= 50 THEN '36-50' ELSE '51+' END AS age_group,
            p.follower_count
        FROM pin p
        JOIN "user" u ON u.ind = p.ind
        WHERE u.age IS NOT NULL AND p.follower_count IS NOT NULL
    ) posts
) ranked
WHERE 2 * pos IN (n, n + 1)
ORDER BY age_group;

-- name: users_joined_by_year
-- How many users joined each year from 2015 to 2020: distinct (user_name, date_joined) pairs of user alone.
SELECT post_year, COUNT(*) AS number_users_joined
FROM (
    SELECT CAST(EXTRACT(YEAR FROM date_joined) AS INTEGER) AS post_year
    FROM (
        SELECT DISTINCT user_name, date_joined
        FROM "user"
        WHERE user_name IS NOT NULL AND date_joined IS NOT NULL
    ) distinct_users
) joined_years
WHERE post_year BETWEEN 2015 AND 2020
GROUP BY post_year
ORDER BY post_year;

-- name: median_followers_by_join_year
-- The (lower) median follower count by the year users joined, 2015 to 2020, pin join user.
SELECT post_year, follower_count AS median_follower_count
FROM (
    SELECT post_year, follower_count,
        ROW_NUMBER() OVER (PARTITION BY post_year ORDER BY follower_count) AS pos,
        COUNT(*) OVER (PARTITION BY post_year) AS n
    FROM (
        SELECT CAST(EXTRACT(YEAR FROM u.date_joined) AS INTEGER) AS post_year, p.follower_count
        FROM pin p
        JOIN "user" u ON u.ind = p.ind
        WHERE p.follower_count IS NOT NULL
    ) posts
    WHERE post_year BETWEEN 2015 AND 2020
) ranked
WHERE 2 * pos IN (n, n + 1)
ORDER BY post_year;

-- name: median_followers_by_age_group_and_join_year
-- The (lower) median follower count per age group and joining year, 2015 to 2020, pin join user.
SELECT age_group, post_year, follower_count AS median_follower_count
FROM (
    SELECT age_group, post_year, follower_count,
        ROW_NUMBER() OVER (PARTITION BY age_group, post_year ORDER BY follower_count) AS pos,
        COUNT(*) OVER (PARTITION BY age_group, post_year) AS n
    FROM (
        SELECT
            CASE WHEN u.age < 18 THEN '0-17' WHEN u.age <= 24 THEN '18-24' WHEN u.age <= 35 THEN '25-35'
                WHEN u.age <= 50 THEN '36-50' ELSE '51+' END AS age_group,
            CAST(EXTRACT(YEAR FROM u.date_joined) AS INTEGER) AS post_year,
            p.follower_count
        FROM pin p
        JOIN "user" u ON u.ind = p.ind
        WHERE u.age IS NOT NULL AND p.follower_count IS NOT NULL
    ) posts
    WHERE post_year BETWEEN 2015 AND 2020
) ranked
WHERE 2 * pos IN (n, n + 1)
ORDER BY age_group, post_year;
