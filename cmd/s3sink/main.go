// Command s3sink lands Kafka topics in an object store in the layout of the
// Confluent S3 sink connector (data.md §5), with exactly-once objects.
//
//	s3sink --brokers HOST:PORT[,...] --prefix P --output URL [--group G]
//	       [--flush-size N] [--rotate-interval D] [--gzip] [--metrics ADDR]
//
// Exit status: 0 after a clean stop (SIGINT, SIGTERM), 1 when the sink
// fails, 2 on bad flags or an invalid configuration. Errors are printed as
// one line on stderr; logs go to stderr as text or JSON (--log-format).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kafkax"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/opshttp"
	"github.com/pinpipe/pinpipe/pkg/sink"
)

// Config is the command line of s3sink.
type Config struct {
	Brokers        string
	Prefix         string
	Topics         string
	TopicRegex     string
	Output         string
	Group          string
	FlushSize      int
	RotateInterval time.Duration
	RotateSchedule time.Duration
	Gzip           bool
	Metrics        string
	LogFormat      string
	SessionTimeout time.Duration
	UnhealthyAfter time.Duration
	Kafka          kafkax.Config // TLS and SASL
}

// FlagSet returns the flags of s3sink bound to cfg; the README's flag table is
// generated from it.
func FlagSet(cfg *Config) *flag.FlagSet {
	fs := flag.NewFlagSet("s3sink", flag.ContinueOnError)
	fs.StringVar(&cfg.Brokers, "brokers", os.Getenv("PINPIPE_KAFKA_BROKERS"), "Kafka bootstrap brokers, HOST:PORT[,HOST:PORT] (env PINPIPE_KAFKA_BROKERS)")
	fs.StringVar(&cfg.Prefix, "prefix", "", "deployment prefix P: lands topics P.pin, P.geo, P.user")
	fs.StringVar(&cfg.Topics, "topics", "", "comma-separated topics to land instead of the prefix's three")
	fs.StringVar(&cfg.TopicRegex, "topic-regex", "", "land every existing topic whose name matches this regular expression")
	fs.StringVar(&cfg.Output, "output", "", "where the topics directory goes: s3://bucket/topics or a local directory (required)")
	fs.StringVar(&cfg.Group, "group", sink.DefaultGroup, "Kafka consumer group; instances with the same group share the partitions")
	fs.IntVar(&cfg.FlushSize, "flush-size", sink.DefaultFlushSize, "records per object (the connector's flush.size)")
	fs.DurationVar(&cfg.RotateInterval, "rotate-interval", 0, "close an object when a record's timestamp is this far past its first record's (0: off)")
	fs.DurationVar(&cfg.RotateSchedule, "rotate-schedule-interval", 0, "also close an object at the next wall-clock multiple of this interval after its first record was read, so a quiet topic's records land (the connector's rotate.schedule.interval.ms; 0: off)")
	fs.BoolVar(&cfg.Gzip, "gzip", false, "gzip objects (.json.gz)")
	fs.StringVar(&cfg.Metrics, "metrics", "127.0.0.1:9102", "address of the /metrics and /healthz HTTP endpoint (empty: off)")
	fs.DurationVar(&cfg.SessionTimeout, "session-timeout", sink.DefaultSessionTimeout, "consumer group session timeout: how long a crashed instance keeps its partitions")
	fs.DurationVar(&cfg.UnhealthyAfter, "unhealthy-after", sink.DefaultUnhealthyAfter, "/healthz answers 503 once the sink has been out of its consumer group, or failing to store, this long")
	cfg.Kafka.RegisterFlags(fs)
	cli.LogFormatFlag(fs, &cfg.LogFormat)
	return fs
}

func main() {
	cli.Main("s3sink", parseFlags, func(ctx context.Context, cfg Config) error { return run(ctx, cfg, os.Stderr) })
}

// parseFlags parses args into a validated Config. Usage goes to stderr only
// for -h/--help, which returns flag.ErrHelp; other errors are usage errors
// (cli.Usage).
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	var cfg Config
	if err := cli.Parse(FlagSet(&cfg), args, stderr, "usage: s3sink --brokers HOST:PORT[,...] --prefix P --output URL [flags]"); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, cli.Usage(err)
	}
	return cfg, nil
}

// Validate checks the configuration; its only I/O is reading the Kafka TLS
// files (--kafka-ca-file, --kafka-cert-file, --kafka-key-file).
func (c Config) Validate() error {
	if err := cli.CheckLogFormat(c.LogFormat); err != nil {
		return err
	}
	_, err := c.sinkConfig(nil)
	return err
}

func (c Config) sinkConfig(log *slog.Logger) (sink.Config, error) {
	sc := sink.Config{
		Brokers:        cli.SplitList(c.Brokers),
		Security:       c.Kafka,
		TopicRegex:     c.TopicRegex,
		Group:          c.Group,
		FlushSize:      c.FlushSize,
		RotateInterval: c.RotateInterval,
		RotateSchedule: c.RotateSchedule,
		Gzip:           c.Gzip,
		SessionTimeout: c.SessionTimeout,
		UnhealthyAfter: c.UnhealthyAfter,
		Logger:         log,
	}
	switch {
	case c.Topics != "":
		sc.Topics = cli.SplitList(c.Topics)
	case c.Prefix != "":
		for _, t := range clean.Tables {
			sc.Topics = append(sc.Topics, landing.Topic(c.Prefix, t))
		}
	}
	if c.Output == "" {
		return sc, errors.New("no output: --output s3://bucket/topics or a directory is required")
	}
	if c.FlushSize <= 0 {
		return sc, fmt.Errorf("--flush-size %d: want a positive number of records", c.FlushSize)
	}
	return sc, sc.Validate()
}

// run lands the topics until ctx is done. An invalid cfg is a usage error
// (cli.Usage).
func run(ctx context.Context, cfg Config, stderr io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return cli.Usage(err)
	}
	log := cli.NewLogger(stderr, cfg.LogFormat, slog.LevelInfo)
	sc, err := cfg.sinkConfig(log)
	if err != nil {
		return err
	}
	bucket, err := objstore.OpenConditional(ctx, cfg.Output, objstore.Options{Logger: log})
	if err != nil {
		return err
	}
	if err := objstore.Check(ctx, bucket); err != nil {
		return err
	}
	if err := checkBrokers(ctx, sc.Brokers, cfg.Kafka); err != nil {
		return err
	}
	go func() { // on a local directory: the temporary files of killed instances
		if n, err := objstore.SweepTemp(ctx, bucket, ""); err != nil && ctx.Err() == nil {
			log.Warn("removing temporary files left by killed writers", "err", err)
		} else if n > 0 {
			log.Info("removed temporary files left by killed writers", "files", n)
		}
	}()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sc.Metrics = sink.NewMetrics(reg)
	s, err := sink.New(sc, bucket)
	if err != nil {
		return err
	}
	if cfg.Metrics != "" {
		srv, err := opshttp.Serve(cfg.Metrics, reg, s.Health, nil)
		if err != nil {
			return err
		}
		defer srv.Close()
		log.Info("serving metrics", "addr", cfg.Metrics)
	}
	log.Info("landing", "output", bucket.URL(""), "flush_size", sc.FlushSize, "gzip", sc.Gzip, "kafka", cfg.Kafka.String())
	err = s.Run(ctx)
	log.Info("stopped")
	return err
}

// checkBrokers fails fast, with one clear line, when no broker answers or
// the TLS handshake or the SASL login fails.
func checkBrokers(ctx context.Context, brokers []string, sec kafkax.Config) error {
	conn, err := sec.DialAny(ctx, brokers, 5*time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}
