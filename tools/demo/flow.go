package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// binaries are the commands the flow builds and runs.
var binaries = [...]string{"emit", "gateway", "s3sink", "batchjob", "streamjob"}

// flow is the whole pipeline run once against a running local stack: seed the
// source tables, emit posts to Kafka and Kinesis, land Kafka with s3sink, run
// the batch job, run the stream job until it has caught up. The demo and the
// end-to-end test run the same flow with different counts.
type flow struct {
	// Env is where the stack's services answer. Required.
	Env devstack.Env
	// Root is the repository root (go build runs there). Required.
	Root string
	// Bin receives the built binaries. Required.
	Bin string
	// Logs receives one log file per binary run. Required.
	Logs string
	// Bucket holds the landed topics and the warehouse. Default: Env.S3Bucket.
	Bucket string
	// Catalog is the URL of the Iceberg catalog both jobs commit their
	// tables to (sqlite:///abs/path.db, postgres://...). Required.
	Catalog string
	// Warehouse is where the tables' files go. Default: s3://{Bucket}/warehouse.
	Warehouse string
	// Prefix is the deployment prefix P of this run (topics P.pin, streams
	// streaming-P-pin, ...), and the namespace of both jobs' tables.
	// Required; unique per run so that re-runs work.
	Prefix string
	// Tables are the MySQL source tables. Default: sample.DefaultTables.
	Tables sample.Tables
	// Rows seeded into MySQL. Default: 11000.
	Rows int
	// Posts emitted, each one record per table and target. Default: 3000.
	Posts int
	// Seed of the sample data and of the random emit order. Default: 1.
	Seed int64
	// FlushSize of s3sink. Default: 100.
	FlushSize int
	// Date of the batch run. Default: today, UTC.
	Date string
	// Wait bounds how long s3sink and streamjob may take to catch up.
	// Default: 3m.
	Wait time.Duration
	// Out receives the step lines. Default: io.Discard.
	Out io.Writer

	// Results, filled in by the steps.
	emitted  map[string]emittedCounts // by target kind: "kafka", "kinesis"
	landed   map[clean.Table]int64    // lines landed by s3sink
	batchRes batch.Result
	stream   map[clean.Table]streamCounts
}

// emittedCounts are the records emit stored in one target, per table.
type emittedCounts map[clean.Table]int64

func (c emittedCounts) total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// streamCounts are the stream job's counters of one table.
type streamCounts struct {
	In, Out, Rejected, Blank int64
}

// step is one timed, named part of the flow.
type step struct {
	name string // short name, e.g. "s3sink"
	what string // what it does, one line
	run  func(ctx context.Context) (string, error)
	log  string // the log file to show the tail of on failure
}

// StepError says which step failed, why, and where its log is.
type StepError struct {
	Step string
	Err  error
	Log  string // path of the binary's log, or ""
}

func (e *StepError) Error() string { return fmt.Sprintf("step %s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// validate fills in defaults and checks the required fields.
func (f *flow) validate() error {
	if f.Bucket == "" {
		f.Bucket = f.Env.S3Bucket
	}
	if f.Warehouse == "" && f.Bucket != "" {
		f.Warehouse = "s3://" + f.Bucket + "/warehouse"
	}
	if f.Tables == (sample.Tables{}) {
		f.Tables = sample.DefaultTables
	}
	if f.Rows == 0 {
		f.Rows = 11000
	}
	if f.Posts == 0 {
		f.Posts = 3000
	}
	if f.Seed == 0 {
		f.Seed = 1
	}
	if f.FlushSize == 0 {
		f.FlushSize = 100
	}
	if f.Date == "" {
		f.Date = time.Now().UTC().Format(batch.DateLayout)
	}
	if f.Wait == 0 {
		f.Wait = 3 * time.Minute
	}
	if f.Out == nil {
		f.Out = io.Discard
	}
	switch {
	case f.Root == "" || f.Bin == "" || f.Logs == "":
		return errors.New("flow: Root, Bin and Logs are required")
	case f.Prefix == "":
		return errors.New("flow: Prefix is required")
	case f.Catalog == "":
		return errors.New("flow: Catalog is required")
	case f.Bucket == "":
		return errors.New("flow: no bucket (Env.S3Bucket is empty)")
	case len(f.Env.KafkaBrokers) == 0 || f.Env.S3Endpoint == "" || f.Env.KinesisEndpoint == "" || f.Env.MySQLDSN == "":
		return errors.New("flow: the stack env lacks Kafka, S3, Kinesis or MySQL")
	}
	return f.Tables.Validate()
}

// landingURL is where s3sink lands the topics.
func (f *flow) landingURL() string { return "s3://" + f.Bucket + "/topics" }

// namespace is the namespace of the run's tables: its deployment prefix
// (tables.md: a deployment prefix, if one is used, is a namespace).
func (f *flow) namespace() string { return f.Prefix }

// tableFlags are the flags naming the catalog, warehouse and namespace of
// the tables, the same for both jobs.
func (f *flow) tableFlags() []string {
	return []string{"--catalog", f.Catalog, "--warehouse", f.Warehouse, "--namespace", f.namespace()}
}

// steps returns the steps of the flow, in order. withBuild adds the build step
// first.
func (f *flow) steps(withBuild bool) []step {
	var s []step
	if withBuild {
		s = append(s, step{name: "build", what: "go build the five binaries into " + f.Bin, run: f.build})
	}
	return append(s,
		step{name: "seed-db", log: f.logPath("emit-seed-db"),
			what: fmt.Sprintf("emit seed-db: load %d sample rows (seed %d) into MariaDB tables %s, %s, %s", f.Rows, f.Seed, f.Tables.Pin, f.Tables.Geo, f.Tables.User),
			run:  f.seedDB},
		step{name: "emit", log: f.logPath("emit-run"),
			what: fmt.Sprintf("emit run: send %d posts in random order (seed %d, so some twice) from MariaDB to Kafka topics %s.{pin,geo,user}, and to Kinesis streams streaming-%s-{pin,geo,user} through the gateway (the original's API Gateway shape: PUT %s/streams/{stream}/records), which creates the streams first", f.Posts, f.Seed, f.Prefix, f.Prefix, gatewayStage),
			run:  f.emit},
		step{name: "s3sink", log: f.logPath("s3sink"),
			what: fmt.Sprintf("s3sink: land the Kafka topics in %s (flush size %d) until every record is stored, then SIGTERM", f.landingURL(), f.FlushSize),
			run:  f.s3sink},
		step{name: "batchjob", log: f.logPath("batchjob"),
			what: fmt.Sprintf("batchjob: clean, de-duplicate and compute the insights, as the Airflow DAG runs it; commit tables pin, geo, user, the nine insight tables (partition dt=%s) and batch_quarantine to namespace %s", f.Date, f.namespace()),
			run:  f.batchjob},
		step{name: "streamjob", log: f.logPath("streamjob"),
			what: fmt.Sprintf("streamjob: read the Kinesis streams, committing stream_pin, stream_geo, stream_user and stream_quarantine to namespace %s, until it has caught up, then SIGTERM", f.namespace()),
			run:  f.streamjob},
	)
}

// run runs steps in order, printing each with its duration; it stops at the
// first failure and returns a *StepError.
func (f *flow) run(ctx context.Context, steps []step) error {
	if err := f.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(f.Logs, 0o755); err != nil {
		return err
	}
	for i, s := range steps {
		fmt.Fprintf(f.Out, "==> [%d/%d] %s\n    %s\n", i+1, len(steps), s.name, s.what)
		start := time.Now()
		detail, err := s.run(ctx)
		d := time.Since(start).Round(100 * time.Millisecond)
		if err != nil {
			fmt.Fprintf(f.Out, "    FAILED after %s: %v\n", d, err)
			return &StepError{Step: s.name, Err: err, Log: s.log}
		}
		if detail != "" {
			detail = ": " + detail
		}
		fmt.Fprintf(f.Out, "    done in %s%s\n", d, detail)
	}
	return nil
}

func (f *flow) logPath(name string) string { return filepath.Join(f.Logs, name+".log") }

func (f *flow) build(ctx context.Context) (string, error) {
	args := []string{"build", "-o", f.Bin + string(filepath.Separator)}
	for _, b := range binaries {
		args = append(args, "./cmd/"+b)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = f.Root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return "", nil
}

// command returns the command running binary name with args, its output
// appended to the log file logName; stdout is also copied to stdout when set.
func (f *flow) command(ctx context.Context, logName string, stdout io.Writer, name string, args ...string) (*exec.Cmd, *os.File, error) {
	lf, err := os.OpenFile(f.logPath(logName), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, nil, err
	}
	shown := make([]string, len(args))
	for i, a := range args {
		shown[i] = redactArg(a)
	}
	fmt.Fprintf(lf, "$ %s %s\n", name, strings.Join(shown, " "))
	cmd := exec.CommandContext(ctx, filepath.Join(f.Bin, name), args...)
	cmd.Dir = f.Root
	cmd.Env = append(os.Environ(), f.Env.Environ()...)
	cmd.Stdout = lf
	if stdout != nil {
		cmd.Stdout = io.MultiWriter(lf, stdout)
	}
	cmd.Stderr = lf
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	return cmd, lf, nil
}

// runBinary runs a binary to its end; stdout is returned.
func (f *flow) runBinary(ctx context.Context, logName, name string, args ...string) ([]byte, error) {
	var out bytes.Buffer
	cmd, lf, err := f.command(ctx, logName, &out, name, args...)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s: %w%s", name, err, lastLine(lf.Name()))
	}
	return out.Bytes(), nil
}

func (f *flow) tablesFlag() string {
	return f.Tables.Pin + "," + f.Tables.Geo + "," + f.Tables.User
}

func (f *flow) seedDB(ctx context.Context) (string, error) {
	out, err := f.runBinary(ctx, "emit-seed-db", "emit", "seed-db", "--dsn", f.Env.MySQLDSN,
		"--rows", fmt.Sprint(f.Rows), "--seed", fmt.Sprint(f.Seed), "--tables", f.tablesFlag(), "--progress", "off")
	return strings.TrimSpace(string(out)), err
}

// emitReport is the part of `emit run --json` the flow reads.
type emitReport struct {
	Rows    int64 `json:"rows"`
	Sent    int64 `json:"sent"`
	Failed  int64 `json:"failed"`
	Targets []struct {
		Target string                `json:"target"`
		Sent   map[clean.Table]int64 `json:"sent"`
	} `json:"targets"`
}

func (f *flow) emit(ctx context.Context) (result string, err error) {
	gw, err := f.startGateway(ctx)
	if err != nil {
		return "", err
	}
	defer func() {
		if serr := gw.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	streams := gw.base + "/streams/"
	to := "kafka://" + strings.Join(f.Env.KafkaBrokers, ",") + "," + streams
	out, err := f.runBinary(ctx, "emit-run", "emit", "run", "--from", "mysql://"+f.Env.MySQLDSN,
		"--tables", f.tablesFlag(), "--to", to, "--prefix", f.Prefix, "--count", fmt.Sprint(f.Posts),
		"--order", "random", "--seed", fmt.Sprint(f.Seed), "--create", "--json", "--progress", "off")
	if err != nil {
		return "", err
	}
	var rep emitReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return "", fmt.Errorf("reading the report of emit run: %w", err)
	}
	if rep.Failed > 0 {
		return "", fmt.Errorf("emit run: %d records failed", rep.Failed)
	}
	f.emitted = map[string]emittedCounts{}
	for _, t := range rep.Targets {
		kind, _, _ := strings.Cut(t.Target, "://")
		if t.Target == streams {
			kind = "kinesis" // through the gateway
		}
		f.emitted[kind] = t.Sent
	}
	if f.emitted["kafka"] == nil || f.emitted["kinesis"] == nil {
		return "", fmt.Errorf("emit run reported targets %v, want kafka and kinesis", rep.Targets)
	}
	return fmt.Sprintf("%d posts: %d records to Kafka, %d to Kinesis through the gateway", rep.Rows,
		f.emitted["kafka"].total(), f.emitted["kinesis"].total()), nil
}

// redactArg hides the password of a MySQL DSN argument.
func redactArg(a string) string {
	if rest, ok := strings.CutPrefix(a, "mysql://"); ok {
		return "mysql://" + redactDSN(rest)
	}
	if strings.Contains(a, "@tcp(") {
		return redactDSN(a)
	}
	return a
}

// lastLine returns ": " and the last non-empty line of the log file at path,
// which is where the binaries print why they failed, or "".
func lastLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 2 { // only the command line
		return ""
	}
	return ": " + strings.TrimSpace(lines[len(lines)-1])
}
