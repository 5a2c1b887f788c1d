package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Config configures the shared stack run by `devstack up` and `devstack down`.
type Config struct {
	// Root is the repository root; installs go to Root/.cache.
	// Default: RepoRoot().
	Root string
	// Dir holds the env file, pids file, logs and S3 data.
	// Default: $PINPIPE_STACK_DIR, else Root/.stack.
	Dir string
	// Ports on 127.0.0.1. Defaults: $PINPIPE_STACK_KAFKA_PORT else 19092,
	// $PINPIPE_STACK_S3_PORT else 19000, $PINPIPE_STACK_KINESIS_PORT else 19567.
	KafkaPort, S3Port, KinesisPort int
	// Bucket is created at start. Default: $PINPIPE_S3_BUCKET, else "pinpipe".
	Bucket string
	// MySQLDSN is checked, never started. Default: $PINPIPE_MYSQL_DSN, else
	// DefaultMySQLDSN.
	MySQLDSN string
	// PostgresURL is checked, never started. Default: $PINPIPE_POSTGRES_URL,
	// else DefaultPostgresURL.
	PostgresURL string
	// GatewayPort is where pinpipe's gateway (cmd/gateway, built into
	// Root/.cache/bin) serves the stack's Kafka and Kinesis. Default:
	// $PINPIPE_STACK_GATEWAY_PORT, else 19082.
	GatewayPort int
	// KafkaCommand is the argv that runs a Kafka broker; "{addr}" in it is
	// replaced by 127.0.0.1:KafkaPort. Default: this executable with
	// "kafka --addr {addr}" (the devstack tool).
	KafkaCommand []string
	// Wait bounds the wait for each started service to answer. Default: 60s.
	Wait time.Duration
	// Logger gets progress messages. Default: silent.
	Logger *slog.Logger
}

// DefaultConfig returns a Config with every default filled in, reading the
// overrides documented on Config through getenv (os.Getenv in the tool).
func DefaultConfig(getenv func(string) string) (Config, error) {
	var cfg Config
	root, err := RepoRoot()
	if err != nil {
		return cfg, err
	}
	cfg.Root = root
	cfg.Dir = stackDir(getenv, root)
	ports := []struct {
		dst *int
		env string
		def int
	}{
		{&cfg.KafkaPort, EnvKafkaPort, DefaultKafkaPort},
		{&cfg.S3Port, EnvS3Port, DefaultS3Port},
		{&cfg.KinesisPort, EnvKinesisPort, DefaultKinesisPort},
		{&cfg.GatewayPort, EnvGatewayPort, DefaultGatewayPort},
	}
	for _, p := range ports {
		*p.dst = p.def
		if v := getenv(p.env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return cfg, fmt.Errorf("reading %s=%q: want a port number", p.env, v)
			}
			*p.dst = n
		}
	}
	cfg.Bucket = or(getenv(EnvS3Bucket), DefaultBucket)
	cfg.MySQLDSN = or(getenv(EnvMySQLDSN), DefaultMySQLDSN)
	cfg.PostgresURL = or(getenv(EnvPostgresURL), DefaultPostgresURL)
	self, err := os.Executable()
	if err != nil {
		return cfg, fmt.Errorf("finding own executable: %w", err)
	}
	cfg.KafkaCommand = []string{self, "kafka", "--addr", "{addr}"}
	cfg.Wait = 60 * time.Second
	return cfg, nil
}

// Validate reports a missing or out-of-range setting.
func (c Config) Validate() error {
	var errs []error
	if c.Root == "" || c.Dir == "" {
		errs = append(errs, errors.New("Root and Dir must be set"))
	}
	for name, p := range map[string]int{"KafkaPort": c.KafkaPort, "S3Port": c.S3Port, "KinesisPort": c.KinesisPort, "GatewayPort": c.GatewayPort} {
		if p <= 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s %d out of range 1-65535", name, p))
		}
	}
	if c.Bucket == "" || c.MySQLDSN == "" || c.PostgresURL == "" || len(c.KafkaCommand) == 0 {
		errs = append(errs, errors.New("Bucket, MySQLDSN, PostgresURL and KafkaCommand must be set"))
	}
	if c.Wait <= 0 {
		errs = append(errs, errors.New("Wait must be positive"))
	}
	return errors.Join(errs...)
}

// env returns where the stack configured by c answers.
func (c Config) env() Env {
	return Env{
		KafkaBrokers:    []string{hostPort(c.KafkaPort)},
		S3Endpoint:      "http://" + hostPort(c.S3Port),
		S3Bucket:        c.Bucket,
		KinesisEndpoint: "http://" + hostPort(c.KinesisPort),
		GatewayURL:      "http://" + hostPort(c.GatewayPort),
		MySQLDSN:        c.MySQLDSN,
		PostgresURL:     c.PostgresURL,
		Region:          DefaultRegion,
		AccessKey:       DefaultAccessKey,
		SecretKey:       DefaultSecretKey,
	}
}

// EnvPath returns the path of the env file of the stack in dir.
func EnvPath(dir string) string { return filepath.Join(dir, envFileName) }

// Up starts the services of the stack that do not answer yet, as detached
// processes that outlive the caller, waits until each answers, creates the
// bucket and writes Dir/env. Services already answering on their ports are
// left alone, so a second Up only rewrites the env file. MySQL and
// PostgreSQL are the machine's, only checked: if one does not answer, Up
// still writes the env file and then returns an error saying how to start it.
func Up(ctx context.Context, c Config) (Env, error) {
	if err := c.Validate(); err != nil {
		return Env{}, fmt.Errorf("starting stack: %w", err)
	}
	log := logger(c.Logger)
	if err := os.MkdirAll(filepath.Join(c.Dir, "s3"), 0o755); err != nil {
		return Env{}, fmt.Errorf("starting stack: %w", err)
	}
	e := c.env()
	pidsPath := filepath.Join(c.Dir, pidsFileName)
	recs, err := readPids(pidsPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Env{}, err
	}
	live := recs[:0]
	for _, r := range recs {
		if r.alive() {
			live = append(live, r)
		}
	}
	recs = live

	services := []struct {
		name  string
		port  int
		probe func(context.Context) error
		argv  func() ([]string, []string, error) // argv, extra env
	}{
		{"kafka", c.KafkaPort,
			func(ctx context.Context) error { return probeKafka(ctx, e.KafkaBrokers[0]) },
			func() ([]string, []string, error) { return kafkaArgv(c.KafkaCommand, e.KafkaBrokers[0]), nil, nil }},
		{"s3", c.S3Port,
			func(ctx context.Context) error { return probeS3(ctx, e) },
			func() ([]string, []string, error) {
				bin, err := EnsureVersityGW(ctx, c.Root, log)
				argv, env := versityArgv(bin, c.S3Port, filepath.Join(c.Dir, "s3"), e)
				return argv, env, err
			}},
		{"kinesis", c.KinesisPort,
			func(ctx context.Context) error { return probeKinesis(ctx, e) },
			func() ([]string, []string, error) {
				dir, err := EnsureKinesalite(ctx, c.Root, log)
				return kinesaliteArgv(dir, c.KinesisPort), nil, err
			}},
		// pinpipe's own gateway, in front of the two above: it starts once
		// they answer (it checks its brokers at start).
		{"gateway", c.GatewayPort,
			func(ctx context.Context) error { return probeGateway(ctx, e) },
			func() ([]string, []string, error) {
				for _, probe := range []func(context.Context) error{
					func(ctx context.Context) error { return probeKafka(ctx, e.KafkaBrokers[0]) },
					func(ctx context.Context) error { return probeKinesis(ctx, e) },
				} {
					if err := waitFor(ctx, c.Wait, nil, probe); err != nil {
						return nil, nil, fmt.Errorf("starting the gateway: %w", err)
					}
				}
				bin, err := buildGateway(ctx, c.Root)
				return gatewayArgv(bin, e, c.GatewayPort), e.Environ(), err
			}},
	}
	type started struct {
		p     *proc
		probe func(context.Context) error
	}
	var toWait []started
	var errs []error
	for _, s := range services {
		if s.probe(ctx) == nil {
			log.Info("already answering", "service", s.name, "addr", hostPort(s.port))
			continue
		}
		if portBusy(hostPort(s.port)) {
			errs = append(errs, fmt.Errorf("starting %s: port %d is taken by something that does not answer as %s; free it or pick another port (%s)",
				s.name, s.port, s.name, portEnv(s.name)))
			continue
		}
		argv, env, err := s.argv()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p, err := startProc(s.name, argv, env, filepath.Join(c.Dir, s.name+".log"), detached)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, st, err := procStat(p.cmd.Process.Pid)
		if err != nil {
			errs = append(errs, fmt.Errorf("starting %s: %w", s.name, err))
		}
		recs = append(recs, pidRecord{Name: s.name, Pid: p.cmd.Process.Pid, StartTime: st})
		log.Info("started", "service", s.name, "pid", p.cmd.Process.Pid, "addr", hostPort(s.port), "log", p.logPath)
		toWait = append(toWait, started{p, s.probe})
	}
	// Record pids before waiting so that `down` can stop whatever started.
	if err := writePids(pidsPath, recs); err != nil {
		errs = append(errs, err)
	}
	for _, s := range toWait {
		if err := waitFor(ctx, c.Wait, s.p, s.probe); err != nil {
			errs = append(errs, fmt.Errorf("waiting for %s: %w", s.p.name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return e, err
	}
	if err := ensureBucket(ctx, e, c.Bucket); err != nil {
		return e, err
	}
	if err := WriteEnvFile(EnvPath(c.Dir), e); err != nil {
		return e, err
	}
	return e, errors.Join(probeMySQL(ctx, c.MySQLDSN), probePostgres(ctx, c.PostgresURL))
}

// Down stops the processes recorded by Up in dir (SIGTERM to each process
// group, SIGKILL to what is left after grace) and removes the pids and env
// files. Processes Up did not start are never touched.
func Down(ctx context.Context, dir string, grace time.Duration, log *slog.Logger) error {
	log = logger(log)
	pidsPath := filepath.Join(dir, pidsFileName)
	recs, err := readPids(pidsPath)
	if errors.Is(err, os.ErrNotExist) {
		log.Info("nothing to stop", "dir", dir)
		return nil
	}
	if err != nil {
		return err
	}
	var mine []pidRecord
	for _, r := range recs {
		if r.alive() { // checks the start time: a reused pid is not ours
			mine = append(mine, r)
			log.Info("stopping", "service", r.Name, "pid", r.Pid)
			_ = syscall.Kill(-r.Pid, syscall.SIGTERM)
		}
	}
	waitGone := func(d time.Duration) []pidRecord {
		deadline := time.Now().Add(d)
		for {
			var left []pidRecord
			for _, r := range mine {
				if r.groupAlive() {
					left = append(left, r)
				}
			}
			if len(left) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
				return left
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if left := waitGone(grace); len(left) > 0 {
		for _, r := range left {
			log.Warn("killing", "service", r.Name, "pid", r.Pid)
			_ = syscall.Kill(-r.Pid, syscall.SIGKILL)
		}
		mine = left
		if left := waitGone(5 * time.Second); len(left) > 0 {
			return fmt.Errorf("stopping stack: %s (pid %d) still running after SIGKILL", left[0].Name, left[0].Pid)
		}
	}
	for _, p := range []string{pidsPath, EnvPath(dir)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("stopping stack: %w", err)
		}
	}
	return nil
}

func kafkaArgv(tmpl []string, addr string) []string {
	argv := make([]string, len(tmpl))
	for i, a := range tmpl {
		if a == "{addr}" {
			a = addr
		}
		argv[i] = a
	}
	return argv
}

// versityArgv returns the command line and environment of versitygw serving
// dir on 127.0.0.1:port with e's credentials. --keep-alive: like AWS S3, it
// keeps a connection open for the client's next request (without it, it
// closes every connection after one request, and a client reading many small
// objects dials once per object).
func versityArgv(bin string, port int, dir string, e Env) (argv, env []string) {
	return []string{bin, "--port", hostPort(port), "--quiet", "--keep-alive", "posix", dir},
		[]string{"ROOT_ACCESS_KEY=" + e.AccessKey, "ROOT_SECRET_KEY=" + e.SecretKey, "VGW_REGION=" + or(e.Region, DefaultRegion)}
}

// kinesaliteJS runs kinesalite bound to 127.0.0.1 only (its CLI listens on
// every interface). Arguments: package dir, JSON options.
const kinesaliteJS = `var o = JSON.parse(process.argv[2]); ` +
	`var s = require(process.argv[1])(o).listen(o.port, "127.0.0.1", function () { console.log("kinesalite listening at http://127.0.0.1:" + s.address().port); }); ` +
	`process.on("SIGTERM", function () { process.exit(0); }); ` +
	// kinesalite throws on a request its client aborted (ECONNRESET), which
	// would end the server: log it and keep serving.
	`process.on("uncaughtException", function (e) { console.error("kinesalite: ignored error: " + (e && e.code || e)); });`

// kinesaliteArgv returns the command line of an in-memory kinesalite on
// 127.0.0.1:port whose streams become ACTIVE at once. Its account's shard
// limit is far above AWS's default: every test makes streams of its own, and
// one run of the tests makes more than 50 shards.
func kinesaliteArgv(pkgDir string, port int) []string {
	opts, _ := json.Marshal(map[string]int{
		"port": port, "createStreamMs": 0, "updateStreamMs": 0, "deleteStreamMs": 0, "shardLimit": 10000,
	})
	return []string{"node", "-e", kinesaliteJS, pkgDir, string(opts)}
}

func portEnv(service string) string {
	switch service {
	case "kafka":
		return EnvKafkaPort
	case "s3":
		return EnvS3Port
	case "gateway":
		return EnvGatewayPort
	default:
		return EnvKinesisPort
	}
}

func hostPort(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// buildGateway builds cmd/gateway into root/.cache/bin (a no-op when the
// build cache has it) and returns the binary.
func buildGateway(ctx context.Context, root string) (string, error) {
	bin := filepath.Join(root, ".cache", "bin", "gateway")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gateway")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the gateway: %w\n%s", err, tail(out, 2000))
	}
	return bin, nil
}

// gatewayArgv is the command line of the stack's gateway: the REST Proxy API
// in front of the stack's Kafka and the API Gateway resources in front of its
// Kinesis, on 127.0.0.1:port, without a metrics endpoint.
func gatewayArgv(bin string, e Env, port int) []string {
	return []string{bin, "--listen", hostPort(port), "--brokers", strings.Join(e.KafkaBrokers, ","), "--kinesis", "--metrics", ""}
}
