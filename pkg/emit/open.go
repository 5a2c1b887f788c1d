package emit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/pinpipe/pinpipe/pkg/kafkax"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// SinkOptions configures the sinks OpenSink makes.
type SinkOptions struct {
	// Prefix P of topic and stream names. Required.
	Prefix string
	// Create makes missing Kafka topics and Kinesis streams, directly or
	// through an API Gateway target. Default: false.
	Create bool
	// HTTPBatch is the number of records per HTTP request; 1 makes the API
	// Gateway sink use .../record. Default: 500.
	HTTPBatch int
	// Kafka is how kafka:// targets are connected to: TLS and SASL.
	// Default: plaintext.
	Kafka kafkax.Config
	// KinesisAggregate makes kinesis:// targets put KPL-aggregated records
	// (KinesisOptions.Aggregate). Default: false.
	KinesisAggregate bool
}

// checker is a sink that can check its target before anything is sent.
type checker interface {
	Check(ctx context.Context) error
}

// OpenSink makes the sink of a target URL and checks the target is there:
//
//	kafka://HOST:PORT[,HOST:PORT...]   Kafka, topics P.pin, P.geo, P.user
//	kinesis://[REGION]                 Kinesis, streams streaming-P-pin|geo|user
//	                                   (standard AWS configuration; AWS_ENDPOINT_URL_KINESIS)
//	http(s)://HOST/.../topics/         Kafka REST Proxy v2
//	http(s)://HOST/.../streams/        Kinesis through the API Gateway
func OpenSink(ctx context.Context, rawURL string, o SinkOptions) (Target, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return Target{}, fmt.Errorf("target %q: want kafka://, kinesis://, http(s)://.../topics/ or http(s)://.../streams/", rawURL)
	}
	var (
		s    Sink
		name = rawURL
		err  error
	)
	switch scheme {
	case "kafka":
		brokers := strings.Split(strings.TrimSuffix(rest, "/"), ",")
		s, err = NewKafkaSink(KafkaOptions{Brokers: brokers, Prefix: o.Prefix, CreateTopics: o.Create, Security: o.Kafka})
	case "kinesis":
		var opts []func(*config.LoadOptions) error
		if region := strings.TrimSuffix(rest, "/"); region != "" {
			opts = append(opts, config.WithRegion(region))
		}
		cfg, lerr := config.LoadDefaultConfig(ctx, opts...)
		if lerr != nil {
			return Target{}, fmt.Errorf("kinesis: loading the AWS configuration: %w", lerr)
		}
		if cfg.Region == "" {
			return Target{}, errors.New("kinesis: no AWS region (set AWS_REGION or use kinesis://REGION)")
		}
		s, err = NewKinesisSink(KinesisOptions{Client: kinesis.NewFromConfig(cfg), Prefix: o.Prefix, CreateStreams: o.Create,
			Aggregate: o.KinesisAggregate})
	case "http", "https":
		u, perr := url.Parse(rawURL)
		if perr != nil {
			return Target{}, fmt.Errorf("target %q: %w", rawURL, perr)
		}
		name = u.Redacted()
		hopts := HTTPOptions{URL: rawURL, Prefix: o.Prefix, MaxBatch: o.HTTPBatch, Create: o.Create}
		switch path := strings.TrimSuffix(u.Path, "/"); {
		case strings.HasSuffix(path, "/topics") || path == "topics":
			s, err = NewRestProxySink(hopts)
		case strings.HasSuffix(path, "/streams") || path == "streams":
			s, err = NewAPIGatewaySink(hopts)
		default:
			return Target{}, fmt.Errorf("target %s: an HTTP target ends in /topics/ (Kafka REST Proxy) or /streams/ (API Gateway)", name)
		}
	default:
		return Target{}, fmt.Errorf("target %q: unknown scheme %q (want kafka, kinesis, http, https)", rawURL, scheme)
	}
	if err != nil {
		return Target{}, err
	}
	if c, ok := s.(checker); ok {
		if err := c.Check(ctx); err != nil {
			s.Close()
			return Target{}, err
		}
	}
	return Target{Name: name, Sink: s}, nil
}

// SourceOptions configures the source OpenSource makes.
type SourceOptions struct {
	// Tables names the MySQL tables. Default: sample.DefaultTables.
	Tables sample.Tables
	// CredsFile is the original's credentials file, read when "mysql" has
	// no DSN and PINPIPE_MYSQL_DSN is not set. Default: the first of
	// DefaultCredsFiles that exists.
	CredsFile string
	// Getenv looks up environment variables. Default: none are set.
	Getenv func(string) string
	// Warn is told about insecure credential files. Default: ignored.
	Warn func(msg string)
}

// OpenSource opens the source named by from:
//
//	mysql://DSN            go-sql-driver DSN or user:pass@host:port/db
//	mysql                  PINPIPE_MYSQL_DSN, else the credentials file
//	sample[://?rows=N&seed=S]   the built-in generator (default 11000 rows, seed 1)
//
// The returned close function releases it.
func OpenSource(ctx context.Context, from string, o SourceOptions) (Source, func() error, error) {
	if o.Tables == (sample.Tables{}) {
		o.Tables = sample.DefaultTables
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	nop := func() error { return nil }
	switch {
	case from == "sample" || strings.HasPrefix(from, "sample:"):
		rows, seed := SampleRows, int64(1)
		if _, q, ok := strings.Cut(from, "?"); ok {
			vals, err := url.ParseQuery(q)
			if err != nil {
				return nil, nil, fmt.Errorf("source %q: %w", from, err)
			}
			if v := vals.Get("rows"); v != "" {
				if rows, err = strconv.Atoi(v); err != nil {
					return nil, nil, fmt.Errorf("source %q: rows: %w", from, err)
				}
			}
			if v := vals.Get("seed"); v != "" {
				if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
					return nil, nil, fmt.Errorf("source %q: seed: %w", from, err)
				}
			}
		}
		s, err := NewSampleSource(seed, rows)
		return s, nop, err
	case from == "mysql" || from == "mysql://" || strings.HasPrefix(from, "mysql://"):
		dsn := strings.TrimPrefix(strings.TrimPrefix(from, "mysql"), "://")
		var err error
		switch {
		case dsn != "":
			if dsn, err = ParseMySQLURL(dsn); err != nil {
				return nil, nil, err
			}
		case o.Getenv(DSNFromEnv) != "":
			dsn = o.Getenv(DSNFromEnv)
		default:
			var warning string
			dsn, warning, err = ReadCreds(o.CredsFile)
			if warning != "" && o.Warn != nil {
				o.Warn(warning)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("no DSN (mysql://DSN or %s) and %w", DSNFromEnv, err)
			}
		}
		s, err := OpenMySQL(ctx, dsn, o.Tables)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	}
	return nil, nil, fmt.Errorf("source %q: want mysql://DSN, mysql or sample", from)
}
