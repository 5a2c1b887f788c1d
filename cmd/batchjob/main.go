// Command batchjob is the daily batch job: it reads the landed topics P.pin,
// P.geo and P.user (data.md §5), cleans them, computes the nine insight tables
// and publishes the clean tables, the insights, the quarantine and a quality
// report under {output}/dt={date}/, writing _SUCCESS last.
//
//	batchjob --input s3://bucket/topics --prefix 124a514b9149 --output s3://bucket/batch --date 2026-11-24
//
// Exit status: 0 on success (an empty input is a success), 1 when the run
// fails, 2 on bad flags. Errors are printed as one line on stderr.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

func main() {
	parquetio.UseFastSnappy()
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, errHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "batchjob: "+oneLine(err))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process
	}()
	stopProfiles, err := startProfiles(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "batchjob: "+oneLine(err))
		os.Exit(1)
	}
	err = run(ctx, cfg, os.Stdout, os.Stderr)
	stop()
	if perr := stopProfiles(); perr != nil {
		fmt.Fprintln(os.Stderr, "batchjob: "+oneLine(perr))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "batchjob: "+oneLine(err))
		os.Exit(1)
	}
}
