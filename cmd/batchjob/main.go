// Command batchjob is the daily batch job: it reads the landed topics P.pin,
// P.geo and P.user (data.md §5), cleans them, computes the nine insight tables
// and publishes them as Apache Iceberg tables (tables.md): the clean tables
// pin, geo and user, partition dt={date} of the nine insight tables and of
// batch_quarantine, with the quality report in the snapshots' summaries and
// in quality.json beside the tables.
//
//	batchjob --input s3://bucket/topics --prefix 124a514b9149 --catalog postgres://pinpipe@db:5432/pinpipe \
//	         --warehouse s3://bucket/warehouse --date 2026-11-24
//
// Exit status: 0 on success (an empty input is a success), 1 when the run
// fails, 2 on bad flags or an invalid configuration. Errors are printed as
// one line on stderr; logs go to stderr as text or JSON (--log-format).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

func main() {
	parquetio.UseFastSnappy()
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err == nil {
		err = runMain(cfg)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, cli.Message("batchjob", err))
	}
	os.Exit(cli.ExitCode(err))
}

// runMain runs the job with the process's signals and profiles.
func runMain(cfg Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process
	}()
	stopProfiles, err := startProfiles(os.Getenv)
	if err != nil {
		return err
	}
	err = run(ctx, cfg, os.Stdout, os.Stderr)
	stop()
	if perr := stopProfiles(); perr != nil {
		fmt.Fprintln(os.Stderr, cli.Message("batchjob", perr))
	}
	return err
}
