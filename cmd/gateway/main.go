// Command gateway is the HTTP ingest gateway: the Kafka REST Proxy v2
// produce API and the API Gateway Kinesis resources of the original
// (data.md §4), in front of real Kafka brokers and Kinesis streams. A 200
// answer means the records are stored.
//
//	gateway [--listen ADDR] [--brokers HOST:PORT[,...] [--kafka-tls] [--kafka-sasl M ...]] [--kinesis]
//	        [--path-prefix /stage] [--tls-cert F --tls-key F] [--metrics ADDR]
//
// Exit status: 0 after a clean stop (SIGINT, SIGTERM: the requests in flight
// are answered first), 1 when serving fails, 2 on bad flags or an invalid
// configuration. Errors are printed as one line on stderr; logs go to stderr
// as text or JSON (--log-format).
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/pkg/gateway"
	"github.com/pinpipe/pinpipe/pkg/kafkax"
	"github.com/pinpipe/pinpipe/pkg/opshttp"
)

const EnvAPIKey = "PINPIPE_GATEWAY_API_KEY" // default of --api-key: the key every request must carry in x-api-key; better than the flag, which other users of the machine can see

// Config is the command line of gateway.
type Config struct {
	Listen         string
	PathPrefix     string
	APIKey         string
	TLSCert        string
	TLSKey         string
	MaxBody        int64
	MaxRecord      int
	Brokers        string
	Kafka          kafkax.Config
	Linger         time.Duration
	Kinesis        bool
	Region         string
	Metrics        string
	Drain          time.Duration
	UnhealthyAfter time.Duration
	LogFormat      string
}

// FlagSet returns the flags of gateway bound to cfg; the README's flag table
// is generated from it.
func FlagSet(cfg *Config) *flag.FlagSet {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8082", "address the API is served on (HOST:PORT; :8082 for every interface)")
	fs.StringVar(&cfg.PathPrefix, "path-prefix", "", "path every resource is under, such as an API Gateway stage /prod (empty: none)")
	cfg.APIKey = os.Getenv(EnvAPIKey)
	cli.SecretFlag(fs, &cfg.APIKey, "api-key", "when set, every request must carry it in the x-api-key header, else 403; prefer the environment variable, the command line is visible to other users of the machine (env "+EnvAPIKey+")")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate (chain) file: serve HTTPS (with --tls-key)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key file of --tls-cert")
	fs.Int64Var(&cfg.MaxBody, "max-body", 10<<20, "largest request body in bytes; a larger one gets 413")
	fs.IntVar(&cfg.MaxRecord, "max-record", 1<<20, "largest record in bytes (key and value, or data and partition key); a larger one gets 422 or 400")
	fs.StringVar(&cfg.Brokers, "brokers", os.Getenv("PINPIPE_KAFKA_BROKERS"), "Kafka bootstrap brokers, HOST:PORT[,HOST:PORT]: serve POST /topics/{topic} (env PINPIPE_KAFKA_BROKERS; empty: no Kafka)")
	cfg.Kafka.RegisterFlags(fs)
	fs.DurationVar(&cfg.Linger, "linger", time.Millisecond, "how long a batch waits for more records before it is sent: a Kafka partition's (concurrent requests share produce requests), a stream's PutRecord requests (they share a PutRecords call)")
	fs.BoolVar(&cfg.Kinesis, "kinesis", false, "serve the /streams resources with Kinesis (standard AWS configuration: AWS_REGION, AWS_ENDPOINT_URL_KINESIS, ...)")
	fs.StringVar(&cfg.Region, "region", "", "AWS region of Kinesis (default: the standard AWS configuration's)")
	fs.StringVar(&cfg.Metrics, "metrics", "127.0.0.1:9104", "address of the /metrics and /healthz HTTP endpoint (empty: off)")
	fs.DurationVar(&cfg.Drain, "drain-timeout", 30*time.Second, "on SIGTERM, how long requests in flight may take to be answered before the gateway exits anyway")
	fs.DurationVar(&cfg.UnhealthyAfter, "unhealthy-after", 30*time.Second, "/healthz answers 503 once every call to a backend has failed this long")
	cli.LogFormatFlag(fs, &cfg.LogFormat)
	return fs
}

func main() {
	cli.Main("gateway", parseFlags, func(ctx context.Context, cfg Config) error { return run(ctx, cfg, os.Stderr, nil) })
}

// parseFlags parses args into a validated Config. Usage goes to stderr only
// for -h/--help, which returns flag.ErrHelp; other errors are usage errors
// (cli.Usage).
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	var cfg Config
	if err := cli.Parse(FlagSet(&cfg), args, stderr, "usage: gateway [--brokers HOST:PORT[,...]] [--kinesis] [flags]"); err != nil {
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
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("--listen %q: want HOST:PORT", c.Listen)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.MaxBody <= 0 || c.MaxRecord <= 0 {
		return fmt.Errorf("--max-body %d, --max-record %d: want positive sizes in bytes", c.MaxBody, c.MaxRecord)
	}
	if c.Linger <= 0 || c.Drain <= 0 || c.UnhealthyAfter <= 0 {
		return errors.New("--linger, --drain-timeout and --unhealthy-after must be positive")
	}
	if c.Brokers == "" && !c.Kinesis {
		return errors.New("nothing to serve: give --brokers (Kafka REST Proxy API), --kinesis (API Gateway Kinesis API) or both")
	}
	if c.Brokers != "" {
		if err := kafkax.CheckBrokers(cli.SplitList(c.Brokers)); err != nil {
			return fmt.Errorf("--brokers: %w", err)
		}
		if err := c.Kafka.Validate(); err != nil {
			return err
		}
	}
	if err := gateway.CheckPathPrefix(c.PathPrefix); err != nil {
		return fmt.Errorf("--path-prefix: %w", err)
	}
	return nil
}

// run serves until ctx is done, then drains. ready, when set, receives the
// API's address once it is listening. An invalid cfg is a usage error.
func run(ctx context.Context, cfg Config, stderr io.Writer, ready chan<- string) error {
	if err := cfg.Validate(); err != nil {
		return cli.Usage(err)
	}
	log := cli.NewLogger(stderr, cfg.LogFormat, slog.LevelInfo)
	var tlsCfg *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("loading --tls-cert %s and --tls-key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gc := gateway.Config{
		PathPrefix:     cfg.PathPrefix,
		APIKey:         cfg.APIKey,
		MaxBodyBytes:   cfg.MaxBody,
		MaxRecordBytes: cfg.MaxRecord,
		UnhealthyAfter: cfg.UnhealthyAfter,
		KinesisLinger:  cfg.Linger,
		Metrics:        gateway.NewMetrics(reg),
		Logger:         log,
	}
	if cfg.Brokers != "" {
		k, err := openKafka(ctx, cfg.Kafka, cli.SplitList(cfg.Brokers), cfg.Linger)
		if err != nil {
			return err
		}
		defer k.Close()
		gc.Kafka = k
	}
	if cfg.Kinesis {
		c, err := openKinesis(ctx, cfg.Region)
		if err != nil {
			return err
		}
		gc.Kinesis = c
	}
	g, err := gateway.New(gc)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", cfg.Listen, err)
	}
	if cfg.Metrics != "" {
		srv, err := opshttp.Serve(cfg.Metrics, reg, g.Health, nil)
		if err != nil {
			ln.Close()
			return err
		}
		defer srv.Close()
		log.Info("serving metrics", "addr", srv.Addr)
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	log.Info("serving", "url", scheme+"://"+ln.Addr().String()+cfg.PathPrefix, "kafka", cfg.Brokers != "", "kinesis", cfg.Kinesis)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	err = g.Serve(ctx, ln, tlsCfg, cfg.Drain)
	log.Info("stopped")
	return err
}

// openKafka makes the producer and checks a broker answers (and takes the
// TLS and SASL settings).
func openKafka(ctx context.Context, sec kafkax.Config, brokers []string, linger time.Duration) (*gateway.Kafka, error) {
	transport, err := sec.Transport()
	if err != nil {
		return nil, cli.Usage(err)
	}
	conn, err := sec.DialAny(ctx, brokers, 10*time.Second)
	if err != nil {
		return nil, err
	}
	conn.Close()
	return gateway.NewKafka(gateway.KafkaOptions{Brokers: brokers, Transport: transport, Linger: linger})
}

// openKinesis makes the client from the standard AWS configuration and
// checks Kinesis answers.
func openKinesis(ctx context.Context, region string) (*kinesis.Client, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("kinesis: loading the AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, cli.Usage(errors.New("kinesis: no AWS region (set AWS_REGION or --region)"))
	}
	c := kinesis.NewFromConfig(awsCfg)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.ListStreams(cctx, &kinesis.ListStreamsInput{}); err != nil {
		return nil, fmt.Errorf("kinesis: listing streams: %w", err)
	}
	return c, nil
}
