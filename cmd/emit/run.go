package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/pkg/emit"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// run executes the command of cfg. It returns nil after an interrupted run
// in which nothing failed. An invalid cfg is a usage error (cli.Usage).
func run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return cli.Usage(err)
	}
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	log := cli.NewLogger(stderr, cfg.LogFormat, slog.LevelWarn)
	if cfg.Command == "seed-db" {
		return seedDB(ctx, cfg, stdout, stderr, log)
	}
	return emitRun(ctx, cfg, stdout, stderr, log)
}

func resolveDSN(cfg Config, log *slog.Logger) (string, error) {
	switch {
	case cfg.DSN != "":
		return emit.ParseMySQLURL(cfg.DSN)
	case cfg.Getenv(emit.DSNFromEnv) != "":
		return cfg.Getenv(emit.DSNFromEnv), nil
	}
	dsn, warning, err := emit.ReadCreds(cfg.CredsFile)
	if warning != "" {
		log.Warn(warning)
	}
	if err != nil {
		return "", fmt.Errorf("no --dsn or %s, and %w", emit.DSNFromEnv, err)
	}
	return dsn, nil
}

func seedDB(ctx context.Context, cfg Config, stdout, stderr io.Writer, log *slog.Logger) error {
	dsn, err := resolveDSN(cfg, log)
	if err != nil {
		return err
	}
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("mysql DSN: %w", err)
	}
	if mc.Timeout == 0 {
		mc.Timeout = 10 * time.Second
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return fmt.Errorf("mysql DSN: %w", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("mysql %s@%s/%s unreachable: %w", mc.User, mc.Addr, mc.DBName, err)
	}
	start := time.Now()
	if err := sample.CreateTables(ctx, db, cfg.Tables); err != nil {
		return err
	}
	bar := newBar(cfg, stderr, int64(cfg.Rows), "seeding")
	err = sample.Load(ctx, db, cfg.Tables, sample.New(cfg.Seed), cfg.Rows, func(done int) {
		if bar != nil {
			_ = bar.Set(done)
		}
	})
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d rows (seed %d) into %s, %s, %s of %s in %.1fs\n",
		cfg.Rows, cfg.Seed, cfg.Tables.Pin, cfg.Tables.Geo, cfg.Tables.User, mc.DBName, time.Since(start).Seconds())
	return nil
}

func emitRun(ctx context.Context, cfg Config, stdout, stderr io.Writer, log *slog.Logger) error {
	from := cfg.From
	if from == "mysql" && cfg.DSN != "" {
		from = "mysql://" + cfg.DSN
	}
	src, closeSrc, err := emit.OpenSource(ctx, from, emit.SourceOptions{
		Tables: cfg.Tables, CredsFile: cfg.CredsFile, Getenv: cfg.Getenv,
		Warn: func(msg string) { log.Warn(msg) },
	})
	if err != nil {
		return err
	}
	defer closeSrc()
	var targets []emit.Target
	defer func() {
		for _, t := range targets {
			if err := t.Sink.Close(); err != nil {
				log.Warn("closing target", "target", t.Name, "err", err)
			}
		}
	}()
	for _, u := range cfg.To {
		t, err := emit.OpenSink(ctx, u, emit.SinkOptions{Prefix: cfg.Prefix, Create: cfg.Create, HTTPBatch: cfg.HTTPBatch, Kafka: cfg.Kafka,
			KinesisAggregate: cfg.KinesisAggregate})
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	e, err := emit.New(src, targets, emit.Options{
		Count: cfg.Count, Rate: cfg.Rate, Order: cfg.Order, Seed: cfg.Seed, BatchRows: cfg.BatchRows, Logger: log,
	})
	if err != nil {
		return err
	}

	total := int64(-1)
	if cfg.Count > 0 {
		total = int64(cfg.Count) * 3 * int64(len(targets))
	}
	bar := newBar(cfg, stderr, total, "sending")
	done := make(chan struct{})
	if bar != nil {
		go func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					s := e.Stats()
					bar.Describe(fmt.Sprintf("sent, %d failed", s.Failed()))
					_ = bar.Set64(s.Sent())
				}
			}
		}()
	}
	runErr := e.Run(ctx)
	close(done)
	s := e.Stats()
	if bar != nil {
		_ = bar.Set64(s.Sent())
		_ = bar.Exit()
		fmt.Fprintln(stderr)
	}
	if err := report(stdout, cfg.JSON, s, ctx.Err() != nil); err != nil {
		return err
	}
	if runErr != nil && !errors.Is(runErr, emit.ErrNotSent) {
		return runErr
	}
	return runErr
}

func newBar(cfg Config, stderr io.Writer, total int64, what string) *progressbar.ProgressBar {
	show := cfg.Progress == "on"
	if cfg.Progress == "auto" {
		f, ok := stderr.(*os.File)
		show = ok && term.IsTerminal(int(f.Fd()))
	}
	if !show {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rec"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(total > 0),
	)
}

// report prints the final counts, as text or JSON.
func report(w io.Writer, asJSON bool, s emit.Stats, interrupted bool) error {
	if asJSON {
		out := struct {
			emit.Stats
			Sent        int64 `json:"sent"`
			Failed      int64 `json:"failed"`
			Interrupted bool  `json:"interrupted"`
		}{s, s.Sent(), s.Failed(), interrupted}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	rate := 0.0
	if s.Seconds > 0 {
		rate = float64(s.Sent()) / s.Seconds
	}
	state := "done"
	if interrupted {
		state = "interrupted"
	}
	fmt.Fprintf(w, "%s: %d rows, %d records sent, %d failed in %.1fs (%.0f records/s)\n",
		state, s.Rows, s.Sent(), s.Failed(), s.Seconds, rate)
	for _, t := range s.Targets {
		fmt.Fprintf(w, "  %s: sent pin %d, geo %d, user %d; failed %d\n", t.Target, t.Sent.Pin, t.Sent.Geo, t.Sent.User, t.Failed.Total())
		for _, e := range t.Errors {
			fmt.Fprintf(w, "    %s\n", e)
		}
	}
	return nil
}
