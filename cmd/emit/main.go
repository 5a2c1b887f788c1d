// Command emit sends the rows of the three source tables to Kafka, a Kafka
// REST Proxy, Kinesis or the original's API Gateway, and seeds a source
// database with the sample data.
//
//	emit seed-db --dsn DSN [--rows N] [--seed S]
//	emit run --from mysql://DSN|mysql|sample --to URL[,URL...] --prefix P
//	         [--count N] [--rate R] [--order random|sequential] [--seed S] [--json]
//
// Exit status: 0 on success (an interrupted run in which nothing failed
// included), 1 when the command fails, 2 on bad flags or an invalid
// configuration. Errors are printed as one line on stderr; logs go to stderr
// as text or JSON (--log-format).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pinpipe/pinpipe/internal/cli"
	"github.com/pinpipe/pinpipe/pkg/emit"
	"github.com/pinpipe/pinpipe/pkg/kafkax"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

func main() {
	parse := func(args []string, stderr io.Writer) (Config, error) { return parseArgs(args, stderr, os.Getenv) }
	cli.Main("emit", parse, func(ctx context.Context, cfg Config) error { return run(ctx, cfg, os.Stdout, os.Stderr) })
}

const usage = `usage:
  emit seed-db --dsn DSN [--rows N] [--seed S] [--tables PIN,GEO,USER]
  emit run --from mysql://DSN|mysql|sample[://?rows=N&seed=S] --to URL[,URL...] --prefix P
           [--count N] [--rate R] [--order random|sequential] [--seed S] [--json] [--create]
targets: kafka://HOST:PORT[,HOST:PORT]  kinesis://[REGION]  http(s)://.../topics/  http(s)://.../streams/
`

// Config is the parsed command line.
type Config struct {
	Command string // "seed-db" or "run"

	// seed-db; DSN is also the source of run when From is "mysql" (empty:
	// PINPIPE_MYSQL_DSN, then CredsFile).
	DSN       string
	CredsFile string // Default: the first of emit.DefaultCredsFiles that exists (credsDefault)
	Rows      int    // Default: 11000
	Tables    sample.Tables

	// run
	From      string
	To        []string
	Prefix    string
	Count     int
	Rate      float64
	Order     emit.Order
	Seed      int64 // seed-db: data seed (default 1); run: seed of the random order
	BatchRows int
	HTTPBatch int
	Create    bool
	JSON      bool
	Progress  string        // "auto" (a bar when stderr is a terminal), "on", "off"
	LogFormat string        // "text" (default) or "json"
	Kafka     kafkax.Config // TLS and SASL of kafka:// targets

	// KinesisAggregate puts KPL-aggregated records to kinesis:// targets.
	KinesisAggregate bool

	Getenv func(string) string
}

// Validate reports a bad configuration.
func (c Config) Validate() error {
	if err := c.Tables.Validate(); err != nil {
		return err
	}
	if err := cli.CheckLogFormat(c.LogFormat); err != nil {
		return err
	}
	switch c.Command {
	case "seed-db":
		if c.Rows <= 0 {
			return fmt.Errorf("--rows %d: must be positive", c.Rows)
		}
		return nil
	case "run":
	default:
		return fmt.Errorf("unknown command %q: want seed-db or run (see emit --help)", c.Command)
	}
	switch {
	case c.From == "":
		return errors.New("--from is required (mysql://DSN, mysql or sample)")
	case len(c.To) == 0:
		return errors.New("--to is required (kafka://, kinesis://, http(s)://.../topics/, http(s)://.../streams/)")
	case c.Prefix == "":
		return errors.New("--prefix is required (topics P.pin, ...; streams streaming-P-pin, ...)")
	case c.Progress != "auto" && c.Progress != "on" && c.Progress != "off":
		return fmt.Errorf("--progress %q: want auto, on or off", c.Progress)
	}
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	return emit.Options{Count: c.Count, Rate: c.Rate, Order: c.Order, BatchRows: c.BatchRows}.Validate()
}

// credsDefault says which files --creds defaults to: emit.DefaultCredsFiles.
var credsDefault = strings.Join(emit.DefaultCredsFiles, ", else ")

// parseArgs parses args into a validated Config. Usage goes to stderr only
// for -h/--help (or no command), which returns flag.ErrHelp; other errors are
// usage errors (cli.Usage).
func parseArgs(args []string, stderr io.Writer, getenv func(string) string) (Config, error) {
	cfg, err := parseCommand(args, stderr, getenv)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		err = cli.Usage(err)
	}
	return cfg, err
}

func parseCommand(args []string, stderr io.Writer, getenv func(string) string) (Config, error) {
	cfg := Config{Getenv: getenv, Tables: sample.DefaultTables}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		return cfg, flag.ErrHelp
	}
	cfg.Command = args[0]
	fs := flag.NewFlagSet("emit "+cfg.Command, flag.ContinueOnError)
	var tables, to, order string
	fs.StringVar(&cfg.DSN, "dsn", "", "MySQL DSN (go-sql-driver syntax); default $"+emit.DSNFromEnv+", then --creds")
	fs.StringVar(&cfg.CredsFile, "creds", "", "the original's credentials file (RDS_HOST, RDS_USER, ...); default: "+credsDefault)
	fs.IntVar(&cfg.Rows, "rows", emit.SampleRows, "seed-db: rows to load")
	fs.StringVar(&tables, "tables", "", "table names PIN,GEO,USER (default pinterest_data,geolocation_data,user_data)")
	fs.StringVar(&cfg.From, "from", "", "source: mysql://DSN, mysql, or sample[://?rows=N&seed=S]")
	fs.StringVar(&to, "to", "", "targets, comma-separated URLs; kafka://H:P,H:P takes the brokers after it")
	fs.StringVar(&cfg.Prefix, "prefix", "", "topic/stream prefix P")
	fs.IntVar(&cfg.Count, "count", 0, "rows to send, each one record per table (0 = until stopped)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "rows per second (0 = as fast as possible)")
	fs.StringVar(&order, "order", "random", "random (with replacement, as the original) or sequential")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed-db: seed of the sample data; run: seed of the random order")
	fs.IntVar(&cfg.BatchRows, "batch", 500, "rows read and sent per batch")
	fs.IntVar(&cfg.HTTPBatch, "http-batch", 500, "records per HTTP request (1: the API Gateway's single-record endpoint)")
	fs.BoolVar(&cfg.Create, "create", false, "create missing Kafka topics and Kinesis streams")
	fs.BoolVar(&cfg.KinesisAggregate, "kinesis-aggregate", false, "kinesis:// targets: put KPL-aggregated records (several records per Kinesis record, as KPL producers do)")
	fs.BoolVar(&cfg.JSON, "json", false, "print the final counts as JSON")
	fs.StringVar(&cfg.Progress, "progress", "auto", "progress bar: auto (on a terminal), on, off")
	cfg.Kafka.RegisterFlagsEnv(fs, getenv)
	cli.LogFormatFlag(fs, &cfg.LogFormat)
	if err := cli.Parse(fs, args[1:], stderr, strings.TrimSuffix(usage, "\n")); err != nil {
		return cfg, err
	}
	if tables != "" {
		parts := strings.Split(tables, ",")
		if len(parts) != 3 {
			return cfg, fmt.Errorf("--tables %q: want PIN,GEO,USER", tables)
		}
		cfg.Tables = sample.Tables{Pin: parts[0], Geo: parts[1], User: parts[2]}
	}
	cfg.To = splitTargets(to)
	var err error
	if cfg.Order, err = emit.ParseOrder(order); err != nil {
		return cfg, fmt.Errorf("--order: %w", err)
	}
	return cfg, cfg.Validate()
}

// splitTargets splits a comma-separated target list; the host:port items
// after a kafka:// URL are more brokers of it.
func splitTargets(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
		case strings.Contains(p, "://") || len(out) == 0 || !strings.HasPrefix(out[len(out)-1], "kafka://"):
			out = append(out, p)
		default:
			out[len(out)-1] += "," + p
		}
	}
	return out
}
