// Command s3sink lands Kafka topics in an object store in the layout of the
// Confluent S3 sink connector (data.md §5), with exactly-once objects.
//
//	s3sink --brokers HOST:PORT[,...] --prefix P --output URL [--group G]
//	       [--flush-size N] [--rotate-interval D] [--gzip] [--metrics ADDR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pinpipe/pinpipe/pkg/clean"
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
	Gzip           bool
	Metrics        string
	LogFormat      string
	SessionTimeout time.Duration
	UnhealthyAfter time.Duration
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
	fs.BoolVar(&cfg.Gzip, "gzip", false, "gzip objects (.json.gz)")
	fs.StringVar(&cfg.Metrics, "metrics", "127.0.0.1:9102", "address of the /metrics and /healthz HTTP endpoint (empty: off)")
	fs.DurationVar(&cfg.SessionTimeout, "session-timeout", sink.DefaultSessionTimeout, "consumer group session timeout: how long a crashed instance keeps its partitions")
	fs.DurationVar(&cfg.UnhealthyAfter, "unhealthy-after", sink.DefaultUnhealthyAfter, "/healthz answers 503 once the sink has been out of its consumer group, or failing to store, this long")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "log format on stderr: text or json")
	return fs
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var cfg Config
	fs := FlagSet(&cfg)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	if err := run(ctx, cfg, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "s3sink:", err)
		os.Exit(1)
	}
}

func (c Config) sinkConfig(log *slog.Logger) (sink.Config, error) {
	sc := sink.Config{
		Brokers:        splitList(c.Brokers),
		TopicRegex:     c.TopicRegex,
		Group:          c.Group,
		FlushSize:      c.FlushSize,
		RotateInterval: c.RotateInterval,
		Gzip:           c.Gzip,
		SessionTimeout: c.SessionTimeout,
		UnhealthyAfter: c.UnhealthyAfter,
		Logger:         log,
	}
	switch {
	case c.Topics != "":
		sc.Topics = splitList(c.Topics)
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

func run(ctx context.Context, cfg Config, stderr io.Writer) error {
	log := newLogger(stderr, cfg.LogFormat)
	sc, err := cfg.sinkConfig(log)
	if err != nil {
		return err
	}
	bucket, err := objstore.Open(ctx, cfg.Output, objstore.Options{Logger: log})
	if err != nil {
		return err
	}
	if err := objstore.Check(ctx, bucket); err != nil {
		return err
	}
	if err := checkBrokers(ctx, sc.Brokers); err != nil {
		return err
	}
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
	log.Info("landing", "output", bucket.URL(""), "flush_size", sc.FlushSize, "gzip", sc.Gzip)
	err = s.Run(ctx)
	log.Info("stopped")
	return err
}

// checkBrokers fails fast, with one clear line, when no broker answers.
func checkBrokers(ctx context.Context, brokers []string) error {
	var errs []error
	for _, b := range brokers {
		d := net.Dialer{Timeout: 5 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			conn.Close()
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("no Kafka broker answers at %s: %w", strings.Join(brokers, ","), errors.Join(errs...))
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
