// Command demo runs the whole pipeline once on the local stack and shows the
// results: `make demo` runs `make stack-up` and then this program from the
// repository root. It is dev-only tooling.
//
// In order, timing each step: build the five binaries into .demo/bin, seed
// MariaDB with the sample data (emit seed-db), emit posts in random order from
// MariaDB to Kafka and, through the gateway (cmd/gateway), to Kinesis at once
// (emit run), land Kafka in S3 with
// s3sink until every record is stored, run batchjob as the Airflow DAG does,
// run streamjob on the Kinesis streams until it has caught up. Both jobs
// commit Iceberg tables to a SQLite catalog, .demo/catalog.db (kept between
// runs), with the warehouse in the local S3 at s3://{bucket}/warehouse.
//
// Then it prints the nine insight tables (read from the data files of their
// partition dt=D), every table of both jobs with its snapshots, row count and
// data files, one insight table queried through the catalog with
// iceberg-go's scan, where everything is, DuckDB commands to look at the
// files, and the quality counts of both paths. The stack is left running.
//
// Every run uses a fresh prefix (demo + UTC time), which is also the
// namespace of its tables, so re-running works and runs do not interfere.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pinpipe/pinpipe/internal/devstack"
)

// Config is the command line of demo.
type Config struct {
	Rows      int    // rows seeded into MariaDB. Default: 11000
	Posts     int    // posts emitted. Default: 3000
	Seed      int64  // seed of the data and the order. Default: 1
	FlushSize int    // s3sink flush size. Default: 100
	Prefix    string // Default: demo + UTC time
	MaxRows   int    // rows shown per insight table. Default: 12
	Wait      time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := Config{}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.IntVar(&cfg.Rows, "rows", 11000, "rows seeded into MariaDB")
	fs.IntVar(&cfg.Posts, "posts", 3000, "posts emitted (each one record per table, to Kafka and to Kinesis)")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed of the sample data and of the random emit order")
	fs.IntVar(&cfg.FlushSize, "flush-size", 100, "records per object landed by s3sink")
	fs.StringVar(&cfg.Prefix, "prefix", "", "deployment prefix of this run (default demo + UTC time)")
	fs.IntVar(&cfg.MaxRows, "max-rows", 12, "rows shown per insight table")
	fs.DurationVar(&cfg.Wait, "wait", 3*time.Minute, "how long s3sink and streamjob may take to catch up")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg Config, w io.Writer) error {
	start := time.Now()
	root, err := devstack.RepoRoot()
	if err != nil {
		return err
	}
	scfg, err := devstack.DefaultConfig(os.Getenv)
	if err != nil {
		return err
	}
	env, err := devstack.ReadEnvFile(devstack.EnvPath(scfg.Dir))
	if err != nil {
		return fmt.Errorf("reading the stack's env file (run `make stack-up` first, or `make demo`): %w", err)
	}
	// The steps reading S3 in this process use the standard AWS configuration.
	for _, kv := range env.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "demo" + time.Now().UTC().Format("20060102t150405")
	}
	demoDir := filepath.Join(root, ".demo")
	f := &flow{
		Env:       env,
		Root:      root,
		Bin:       filepath.Join(demoDir, "bin"),
		Logs:      filepath.Join(demoDir, "logs", cfg.Prefix),
		Catalog:   "sqlite://" + filepath.ToSlash(filepath.Join(demoDir, "catalog.db")),
		Prefix:    cfg.Prefix,
		Rows:      cfg.Rows,
		Posts:     cfg.Posts,
		Seed:      cfg.Seed,
		FlushSize: cfg.FlushSize,
		Wait:      cfg.Wait,
		Out:       w,
	}
	if err := f.validate(); err != nil {
		return err
	}
	fmt.Fprintf(w, "pinpipe demo, prefix %s, run date %s\n", f.Prefix, f.Date)
	fmt.Fprintf(w, "stack: Kafka %s, S3 %s (bucket %s), Kinesis %s, MariaDB %s\n",
		strings.Join(env.KafkaBrokers, ","), env.S3Endpoint, f.Bucket, env.KinesisEndpoint, redactDSN(env.MySQLDSN))
	fmt.Fprintf(w, "tables: namespace %s of catalog %s, warehouse %s\n", f.namespace(), f.Catalog, f.Warehouse)
	fmt.Fprintf(w, "logs of every binary: %s\n\n", rel(f.Logs))

	if err := f.run(ctx, f.steps(true)); err != nil {
		var se *StepError
		if errors.As(err, &se) {
			fmt.Fprintf(w, "\nThe %s step failed: %v\n", se.Step, se.Err)
			if se.Log != "" {
				tail(w, se.Log, 25)
			}
		}
		return err
	}

	o, err := f.readOutputs(ctx)
	if err != nil {
		return fmt.Errorf("reading the tables back: %w", err)
	}
	f.show(w, o, cfg.MaxRows, rel(filepath.Join(scfg.Dir, "s3")))
	fmt.Fprintf(w, "\nDone in %s. The local stack is left running for exploration (source .stack/env to use it);\n`make stack-down` stops it. Run `make demo` again for a fresh run with a new prefix and namespace.\n",
		time.Since(start).Round(100*time.Millisecond))
	return nil
}

// tail prints the last n lines of the log file at path.
func tail(w io.Writer, path string, n int) {
	fh, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(w, "(no log: %v)\n", err)
		return
	}
	defer fh.Close()
	var lines []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	fmt.Fprintf(w, "--- last %d lines of %s\n", len(lines), rel(path))
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w, "---")
}

// rel returns path relative to the working directory when it is below it.
func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	r, err := filepath.Rel(wd, path)
	if err != nil || strings.HasPrefix(r, "..") {
		return path
	}
	return r
}

// redactDSN hides the password of a go-sql-driver DSN.
func redactDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	if at < 0 {
		return dsn
	}
	user, _, hasPass := strings.Cut(dsn[:at], ":")
	if !hasPass {
		return dsn
	}
	return user + ":***" + dsn[at:]
}
