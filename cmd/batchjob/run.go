package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// DefaultGCPercent is the default of Config.GCPercent. Most of the job's heap
// is live (the tables it holds), so every collection marks nearly all of
// it: 200 spends far less time collecting than the runtime's 100 for a
// somewhat higher peak (BENCHMARKS.md). GOMEMLIMIT caps the heap when a
// machine is short of memory.
const DefaultGCPercent = 200

// Config is the command line of batchjob.
type Config struct {
	Input       string             // --input, required
	Prefix      string             // --prefix, required
	Tables      tables.Config      // --catalog, --warehouse, --namespace
	Full        bool               // --full: rebuild the clean tables from everything landed
	CloseGaps   bool               // --close-gaps: stop waiting for offsets not landed yet
	Maintain    bool               // --maintain: expire snapshots and remove orphan files after publishing
	Report      bool               // --report: write report.html beside quality.json
	Maintenance tables.Maintenance // --snapshot-age, --keep-snapshots, --orphan-age
	Date        string             // --date; default: today, UTC
	Concurrency int                // --concurrency; default: batch.DefaultConcurrency
	Workers     int                // --workers; default: GOMAXPROCS
	// GCPercent is the Go GC target (--gc-percent): the heap may grow by
	// this percentage of the live data between collections. The job holds
	// its tables in memory, so the default, DefaultGCPercent, trades some
	// peak memory for less CPU. 0 keeps the runtime's (GOGC, else 100).
	GCPercent int
	// MemoryLimitMiB is the Go runtime's soft memory limit
	// (--memory-limit-mib): 0 sets three quarters of the memory of the
	// cgroup or machine (autoMemoryLimit), -1 none; GOMEMLIMIT, when set,
	// wins over both.
	MemoryLimitMiB int
	RowsPerFile    int    // --rows-per-file; default: batch.DefaultRowsPerFile
	MaxAttempts    int    // --max-attempts per S3 request; default: objstore.DefaultMaxAttempts
	JSON           bool   // --json: print a JSON summary instead of the text one
	Verbose        bool   // --verbose: log progress messages on stderr
	LogFormat      string // --log-format: text (default) or json
	// Progress shows a progress line on stderr: "auto" (when stderr is a
	// terminal), "always" or "never". Default: auto.
	Progress string
}

// Validate checks the configuration without I/O.
func (c Config) Validate() error {
	var errs []error
	if c.Input == "" {
		errs = append(errs, errors.New("--input is required"))
	}
	if c.Prefix == "" {
		errs = append(errs, errors.New("--prefix is required"))
	}
	if err := c.Tables.Check(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Maintenance.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := batch.CheckDate(c.Date); err != nil {
		errs = append(errs, fmt.Errorf("--date: %w", err))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("--concurrency is %d, want >= 1", c.Concurrency))
	}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("--workers is %d, want >= 1 (0 means GOMAXPROCS)", c.Workers))
	}
	if c.GCPercent < 0 {
		errs = append(errs, fmt.Errorf("--gc-percent is %d, want >= 1 (0 keeps GOGC)", c.GCPercent))
	}
	if c.MemoryLimitMiB < -1 {
		errs = append(errs, fmt.Errorf("--memory-limit-mib is %d, want >= 1 (0: automatic, -1: none)", c.MemoryLimitMiB))
	}
	if c.RowsPerFile < 1 {
		errs = append(errs, fmt.Errorf("--rows-per-file is %d, want >= 1", c.RowsPerFile))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("--max-attempts is %d, want >= 1", c.MaxAttempts))
	}
	switch c.Progress {
	case "auto", "always", "never":
	default:
		errs = append(errs, fmt.Errorf("--progress is %q, want auto, always or never", c.Progress))
	}
	if err := cli.CheckLogFormat(c.LogFormat); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errs[0] // one clear line; the others follow once it is fixed
	}
	return nil
}

// parseFlags parses args into a validated Config. Usage goes to stderr only
// for -h/--help, which returns flag.ErrHelp; other errors are usage errors
// (cli.Usage).
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	cfg := Config{
		Concurrency: batch.DefaultConcurrency,
		GCPercent:   DefaultGCPercent,
		RowsPerFile: batch.DefaultRowsPerFile,
		MaxAttempts: objstore.DefaultMaxAttempts,
		Progress:    "auto",
		Maintenance: batch.WithMaintenanceDefaults(tables.Maintenance{}), // the flags' defaults
	}
	fs := flag.NewFlagSet("batchjob", flag.ContinueOnError)
	fs.StringVar(&cfg.Input, "input", "", "landing root URL: s3://bucket/topics, file:///dir or a directory (required)")
	fs.StringVar(&cfg.Prefix, "prefix", "", "deployment prefix P; the topics are P.pin, P.geo, P.user (required)")
	cfg.Tables.Flags(fs)
	fs.BoolVar(&cfg.Full, "full", false, "rebuild the clean tables from everything landed, not only what landed since the last run (also needed once for tables of an older pinpipe)")
	fs.BoolVar(&cfg.CloseGaps, "close-gaps", false, "take the offsets reported as not landed yet as never to land (an object that lands there later is not read)")
	fs.BoolVar(&cfg.Maintain, "maintain", true, "after publishing, expire old snapshots and remove orphan files of the tables (and, with them, temporary files killed runs left in a file-system warehouse)")
	cfg.Maintenance.Flags(fs)
	fs.BoolVar(&cfg.Report, "report", true, "write report.html beside quality.json: the insight tables as charts and sortable tables, the run's quality and the trend over previous runs (self-contained, no network to view)")
	fs.StringVar(&cfg.Date, "date", "", "run date YYYY-MM-DD, today or yesterday, in UTC at the start of the run (default today)")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "objects read at the same time")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "goroutines cleaning lines and Parquet files written at the same time (0: GOMAXPROCS)")
	fs.IntVar(&cfg.GCPercent, "gc-percent", cfg.GCPercent, "Go GC target percentage; lower uses less memory and more CPU (0: keep GOGC)")
	fs.IntVar(&cfg.MemoryLimitMiB, "memory-limit-mib", cfg.MemoryLimitMiB, "Go soft memory limit in MiB (0: 3/4 of the cgroup's or machine's memory, -1: none; GOMEMLIMIT wins)")
	fs.IntVar(&cfg.RowsPerFile, "rows-per-file", cfg.RowsPerFile, "maximum rows of one clean or quarantine Parquet file")
	fs.IntVar(&cfg.MaxAttempts, "max-attempts", cfg.MaxAttempts, "attempts of each S3 request")
	fs.BoolVar(&cfg.JSON, "json", false, "print a machine-readable JSON summary on stdout")
	fs.BoolVar(&cfg.Verbose, "verbose", false, "log progress messages on stderr")
	fs.StringVar(&cfg.Progress, "progress", cfg.Progress, "progress line on stderr: auto (when a terminal), always, never")
	cli.LogFormatFlag(fs, &cfg.LogFormat)
	if err := cli.Parse(fs, args, stderr, "usage: batchjob --input URL --prefix P --warehouse URL [--catalog URL] [--date YYYY-MM-DD] [--concurrency N] [--json]"); err != nil {
		return cfg, err
	}
	if !flagSet(fs, "max-snapshots") {
		// Derived from --keep-snapshots, as the job does when unset.
		cfg.Maintenance.MaxSnapshots = 0
		cfg.Maintenance = batch.WithMaintenanceDefaults(cfg.Maintenance)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, cli.Usage(fmt.Errorf("%w (see --help)", err))
	}
	return cfg, nil
}

// run runs the job once and prints its summary on stdout. An invalid cfg is a
// usage error (cli.Usage).
func run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return cli.Usage(err)
	}
	if cfg.GCPercent > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(cfg.GCPercent))
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set && cfg.MemoryLimitMiB >= 0 {
		limit := int64(cfg.MemoryLimitMiB) << 20
		if limit == 0 {
			limit = autoMemoryLimit()
		}
		if limit > 0 {
			defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))
		}
	}
	level := slog.LevelWarn
	if cfg.Verbose {
		level = slog.LevelInfo
	}
	logger := cli.NewLogger(stderr, cfg.LogFormat, level)
	progress := new(batch.Progress)
	bcfg := batch.Config{
		Input:       cfg.Input,
		Prefix:      cfg.Prefix,
		Tables:      cfg.Tables,
		Full:        cfg.Full,
		CloseGaps:   cfg.CloseGaps,
		Maintain:    cfg.Maintain,
		Report:      cfg.Report,
		Maintenance: cfg.Maintenance,
		Date:        cfg.Date,
		Concurrency: cfg.Concurrency,
		Workers:     cfg.Workers,
		RowsPerFile: cfg.RowsPerFile,
		Store:       objstore.Options{MaxAttempts: cfg.MaxAttempts, Logger: logger},
		Logger:      logger,
		Progress:    progress,
	}
	if showProgress(cfg.Progress, stderr) {
		done := make(chan struct{})
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			progressLine(progress, stderr, done)
		}()
		defer func() { close(done); <-finished }()
	}
	res, err := batch.Run(ctx, bcfg)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted, nothing was published: %w", err)
		}
		return err
	}
	if cfg.JSON {
		return writeJSON(stdout, res)
	}
	if err := writeSummary(stdout, res); err != nil {
		return err
	}
	if res.Report != "" {
		_, err = fmt.Fprintf(stdout, "\nreport: %s\n", res.Report)
	}
	return err
}

func showProgress(mode string, stderr io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressLine draws objects read and lines per second until done is closed.
func progressLine(p *batch.Progress, stderr io.Writer, done <-chan struct{}) {
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("reading objects"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case <-done:
			bar.Finish()
			return
		case <-tick.C:
			if total := p.ObjectsTotal.Load(); total > 0 && bar.GetMax64() != total {
				bar.ChangeMax64(total)
			}
			lines := p.Lines.Load()
			rate := float64(lines) / max(time.Since(start).Seconds(), 1e-3)
			bar.Describe(fmt.Sprintf("reading objects, %d lines, %.0f lines/s", lines, rate))
			bar.Set64(p.ObjectsDone.Load())
		}
	}
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
