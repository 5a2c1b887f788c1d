// Command streamjob reads the Kinesis streams streaming-P-pin, -geo and -user
// and commits every record to the Apache Iceberg tables stream_pin,
// stream_geo, stream_user (accepted rows) and stream_quarantine (rejects),
// partitioned by the day of arrival, exactly once across crashes, restarts
// and instances running at once (pkg/stream/PROTOCOL.md). It runs until
// SIGTERM or SIGINT, then flushes, commits and exits. The running quality
// report of the committed records is kept in the tables' properties and
// served at /quality of --metrics; / is a live page of the job (records per
// table, lag per shard, recent flushes, running quality) that polls /status.
//
// Exit status: 0 after a clean stop, 1 when the job fails, 2 on bad flags
// or an invalid configuration. Errors are printed as one line on stderr;
// logs go to stderr as text or JSON (--log-format), from --log-level on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/opshttp"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/report"
	"github.com/pinpipe/pinpipe/pkg/stream"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// Config is the command line.
type Config struct {
	Prefix           string        // deployment prefix P: streams streaming-P-{pin,geo,user}
	Streams          string        // comma-separated "table=stream" or names ending in -pin/-geo/-user; overrides Prefix
	Tables           tables.Config // --catalog, --warehouse, --namespace
	Maintenance      tables.Maintenance
	FlushRecords     int           // Default: 10000
	FlushInterval    time.Duration // Default: 10s
	CommitInterval   time.Duration // Default: 1s
	InitialPosition  string        // trim_horizon (default), latest, at_timestamp
	AtTimestamp      string        // RFC 3339, with at_timestamp
	Metrics          string        // listen address of /metrics, /healthz, /quality, /status and the live page /; empty: none
	SourceColumns    bool          // add shard, sequence and arrival columns
	DiscoverInterval time.Duration // Default: 30s
	UnhealthyAfter   time.Duration // /healthz answers 503 after a flush failing or reading stalled this long. Default (and 0): 60s
	LogLevel         string        // debug, info (default), warn, error
	LogFormat        string        // text (default) or json
}

// parseFlags parses args into a validated Config. Usage goes to stderr only
// for -h/--help, which returns flag.ErrHelp; other errors are usage errors
// (cli.Usage).
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("streamjob", flag.ContinueOnError)
	fs.StringVar(&c.Prefix, "prefix", "", "deployment prefix P: reads streaming-P-pin, streaming-P-geo, streaming-P-user")
	fs.StringVar(&c.Streams, "streams", "", "streams to read instead: comma-separated table=stream, or names ending in -pin, -geo, -user")
	c.Tables.Flags(fs)
	c.Maintenance.Flags(fs)
	fs.DurationVar(&c.Maintenance.Interval, "maintain-interval", tables.DefaultMaintainInterval, "how often the tables' snapshots expire and orphan files are removed (negative: never)")
	fs.IntVar(&c.FlushRecords, "flush-records", stream.DefaultFlushRecords, "flush a shard after this many records")
	fs.DurationVar(&c.FlushInterval, "flush-interval", stream.DefaultFlushInterval, "flush a shard this long after its oldest unflushed record was read")
	fs.DurationVar(&c.CommitInterval, "commit-interval", stream.DefaultCommitInterval, "the least time between two commits of a table (each commits the flushes of all shards that came, in one snapshot)")
	fs.StringVar(&c.InitialPosition, "initial-position", "trim_horizon", "where shards with no committed position start: trim_horizon, latest or at_timestamp")
	fs.StringVar(&c.AtTimestamp, "at-timestamp", "", "start time for at_timestamp (RFC 3339)")
	fs.StringVar(&c.Metrics, "metrics", "", "serve /metrics, /healthz, /quality (running quality report, JSON), /status (live state, JSON) and the live page / on this address (e.g. :9102)")
	fs.BoolVar(&c.SourceColumns, "with-source-columns", false, "add source columns (shard, sequence number, arrival time)")
	fs.DurationVar(&c.DiscoverInterval, "discover-interval", stream.DefaultDiscoverInterval, "how often shards are listed again")
	fs.DurationVar(&c.UnhealthyAfter, "unhealthy-after", stream.DefaultFlushFailingAfter, "/healthz answers 503 when a flush has been failing, or no shard had a successful GetRecords, for this long")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	cli.LogFormatFlag(fs, &c.LogFormat)
	if err := cli.Parse(fs, args, stderr, "usage: streamjob --prefix P | --streams LIST --warehouse URL [--catalog URL] [flags]"); err != nil {
		return c, err
	}
	if err := c.Validate(); err != nil {
		return c, cli.Usage(err)
	}
	return c, nil
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if err := c.Tables.Check(); err != nil {
		return err
	}
	if err := c.Maintenance.Validate(); err != nil {
		return err
	}
	if _, err := c.streamMap(); err != nil {
		return err
	}
	if _, err := c.start(); err != nil {
		return err
	}
	if c.FlushRecords <= 0 {
		return fmt.Errorf("--flush-records is %d, want > 0", c.FlushRecords)
	}
	if c.FlushInterval <= 0 || c.DiscoverInterval <= 0 || c.CommitInterval <= 0 {
		return errors.New("--flush-interval, --commit-interval and --discover-interval must be > 0")
	}
	if c.UnhealthyAfter < 0 {
		return fmt.Errorf("--unhealthy-after is %s, want >= 0", c.UnhealthyAfter)
	}
	if _, err := c.level(); err != nil {
		return err
	}
	return cli.CheckLogFormat(c.LogFormat)
}

func (c Config) level() (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return lv, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	return lv, nil
}

func (c Config) streamMap() (map[clean.Table]string, error) {
	out := map[clean.Table]string{}
	if c.Streams == "" {
		if c.Prefix == "" {
			return nil, errors.New("--prefix or --streams is required")
		}
		for _, t := range clean.Tables {
			out[t] = landing.Stream(c.Prefix, t)
		}
		return out, nil
	}
	for _, s := range strings.Split(c.Streams, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		var t clean.Table
		if tn, name, ok := strings.Cut(s, "="); ok {
			t, s = clean.Table(tn), name
		} else {
			for _, tt := range clean.Tables {
				if strings.HasSuffix(s, "-"+string(tt)) {
					t = tt
				}
			}
			if t == "" {
				return nil, fmt.Errorf("--streams: cannot tell the table of %q (name it table=%s, or end it in -pin, -geo or -user)", s, s)
			}
		}
		if _, dup := out[t]; dup {
			return nil, fmt.Errorf("--streams: two streams for table %s", t)
		}
		out[t] = s
	}
	if len(out) == 0 {
		return nil, errors.New("--streams is empty")
	}
	return out, nil
}

func (c Config) start() (kinesisx.Position, error) {
	switch strings.ToLower(c.InitialPosition) {
	case "trim_horizon", "":
		return kinesisx.Position{Type: kinesisx.TrimHorizon}, nil
	case "latest":
		return kinesisx.Position{Type: kinesisx.Latest}, nil
	case "at_timestamp":
		t, err := time.Parse(time.RFC3339Nano, c.AtTimestamp)
		if err != nil {
			return kinesisx.Position{}, fmt.Errorf("--at-timestamp %q: want RFC 3339 (2024-05-01T12:00:00Z)", c.AtTimestamp)
		}
		return kinesisx.Position{Type: kinesisx.AtTimestamp, Timestamp: t}, nil
	default:
		return kinesisx.Position{}, fmt.Errorf("--initial-position %q: want trim_horizon, latest or at_timestamp", c.InitialPosition)
	}
}

func main() {
	parquetio.UseFastSnappy()
	cli.Main("streamjob", parseFlags, func(ctx context.Context, cfg Config) error { return run(ctx, cfg, os.Stderr) })
}

// run checks the configuration and the services, then runs the job until
// ctx is done, logging to stderr. An invalid cfg is a usage error
// (cli.Usage).
func run(ctx context.Context, cfg Config, stderr io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return cli.Usage(err)
	}
	lv, _ := cfg.level()
	log := cli.NewLogger(stderr, cfg.LogFormat, lv)
	streams, _ := cfg.streamMap()
	start, _ := cfg.start()

	tc := cfg.Tables
	_ = tc.Resolve() // checked by Validate
	tc.Logger, tc.Store = log, objstore.Options{Logger: log}
	cat, err := tables.Open(ctx, tc)
	if err != nil {
		return err
	}
	defer cat.Close()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("loading AWS configuration: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = awsCfg.Credentials.Retrieve(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("%w: %v", kinesisx.ErrNoCredentials, err)
	}
	api := kinesis.NewFromConfig(awsCfg, func(o *kinesis.Options) { o.Retryer = aws.NopRetryer{} })

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := stream.NewMetrics(reg)
	if err != nil {
		return err
	}
	job, err := stream.New(api, stream.Options{Streams: streams, Tables: cat, Maintenance: cfg.Maintenance,
		FlushRecords: cfg.FlushRecords, FlushInterval: cfg.FlushInterval, CommitInterval: cfg.CommitInterval, Start: start,
		SourceColumns: cfg.SourceColumns, DiscoverInterval: cfg.DiscoverInterval, Logger: log, Metrics: metrics,
		FlushFailingAfter: cfg.UnhealthyAfter, ReadStallAfter: cfg.UnhealthyAfter})
	if err != nil {
		return err
	}
	if err := job.Check(ctx); err != nil {
		return err
	}
	if cfg.Metrics != "" {
		srv, err := opshttp.Serve(cfg.Metrics, reg, job.Health, map[string]http.Handler{
			"/quality": opshttp.JSON(func() any { return job.QualityReport() }),
			"/status":  opshttp.JSON(func() any { return job.Status() }),
			"/{$}":     report.LivePage(),
		})
		if err != nil {
			return fmt.Errorf("--metrics: %w", err)
		}
		defer srv.Close()
		log.Info("serving metrics", "addr", srv.Addr)
	}
	log.Info("streamjob running", "streams", fmt.Sprint(streams), "catalog", cat.String(), "namespace", cat.Namespace())
	err = job.Run(ctx)
	st := job.Stats()
	log.Info("streamjob stopped", "records_in", st.RecordsIn, "rows_out", st.RowsOut, "rejected", st.Rejected, "files", st.Files)
	return err
}
