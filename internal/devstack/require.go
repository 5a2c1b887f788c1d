package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"crypto/rand"
	"encoding/hex"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/twmb/franz-go/pkg/kfake"
)

// shared is the stack this test process uses. It is package-level state on
// purpose: the tests of one binary share one stack, which TestMain ends with
// Shutdown. Production code never imports this package.
var shared testStack

type testStack struct {
	mu     sync.Mutex
	loaded bool
	root   string
	stack  Env // read from the env file of a running stack; zero if none
	env    Env
	have   Service
	failed map[Service]error
	procs  []*proc
	kafka  *kfake.Cluster
	dirs   []string
}

// Require returns a stack with at least the services in need. It reuses the
// running stack (REPO/.stack/env, or $PINPIPE_STACK_DIR/env) for each service
// that answers there; otherwise it starts the service for this test process
// once: Kafka as an in-process kfake cluster, S3 as versitygw and Kinesis as
// kinesalite on free ports with temporary data (installed into REPO/.cache on
// first use), killed by Shutdown or when the process dies. MySQL and
// PostgreSQL are never started, only checked ($PINPIPE_MYSQL_DSN and
// $PINPIPE_POSTGRES_URL override the running stack's and the defaults).
//
// It also sets AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_KINESIS,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION in the process
// environment, so code using config.LoadDefaultConfig finds the stand-ins
// (S3 clients must still set UsePathStyle).
//
// With -short it skips the test. A service that cannot be had fails the test
// with a message saying how to get it. Call it from the test goroutine.
func Require(t testing.TB, need Service) Env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	e, err := shared.require(t.Context(), need, t.Logf)
	if err != nil {
		t.Fatalf("devstack: %v", err)
	}
	return e
}

// Shutdown stops what Require started in this process and removes its
// temporary data. Call it from TestMain after m.Run:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		devstack.Shutdown()
//		os.Exit(code)
//	}
func Shutdown() {
	shared.shutdown()
	removeBuilt()
}

func (s *testStack) require(ctx context.Context, need Service, logf func(string, ...any)) (Env, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		s.load(logf)
	}
	var errs []error
	for _, sv := range []Service{Kafka, S3, Kinesis, MySQL, Postgres} {
		if need&sv == 0 || s.have&sv != 0 {
			continue
		}
		err, seen := s.failed[sv]
		if !seen {
			err = s.resolve(ctx, sv, logf)
			if err != nil {
				s.failed[sv] = err
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.have |= sv
	}
	s.setProcessEnv()
	return s.env, errors.Join(errs...)
}

func (s *testStack) load(logf func(string, ...any)) {
	s.loaded = true
	s.failed = make(map[Service]error)
	s.env = Env{Region: DefaultRegion, AccessKey: DefaultAccessKey, SecretKey: DefaultSecretKey}
	root, err := RepoRoot()
	if err != nil {
		logf("devstack: %v", err)
		return
	}
	s.root = root
	st, err := ReadEnvFile(EnvPath(stackDir(os.Getenv, root)))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			logf("devstack: ignoring running stack: %v", err)
		}
		return
	}
	s.stack = st
	// Services of the running stack and any we start share its credentials.
	if st.AccessKey != "" {
		s.env.AccessKey, s.env.SecretKey = st.AccessKey, st.SecretKey
	}
	if st.Region != "" {
		s.env.Region = st.Region
	}
}

// resolve finds or starts one service and records it in s.env.
func (s *testStack) resolve(ctx context.Context, sv Service, logf func(string, ...any)) error {
	st := s.stack
	st.AccessKey, st.SecretKey, st.Region = s.env.AccessKey, s.env.SecretKey, s.env.Region
	switch sv {
	case Kafka:
		if len(st.KafkaBrokers) > 0 && probeKafka(ctx, st.KafkaBrokers[0]) == nil {
			s.env.KafkaBrokers = st.KafkaBrokers
			logf("devstack: using the running stack's Kafka at %s", strings.Join(st.KafkaBrokers, ","))
			return nil
		}
		c, err := kfake.NewCluster(kafkaOpts()...)
		if err != nil {
			return fmt.Errorf("starting in-process Kafka (kfake): %w", err)
		}
		s.kafka = c
		s.env.KafkaBrokers = c.ListenAddrs()
		logf("devstack: started in-process Kafka (kfake) at %s", strings.Join(s.env.KafkaBrokers, ","))
		return nil

	case S3:
		if st.S3Endpoint != "" && probeS3(ctx, st) == nil {
			s.env.S3Endpoint = st.S3Endpoint
			s.env.S3Bucket = or(st.S3Bucket, DefaultBucket)
			logf("devstack: using the running stack's S3 at %s", st.S3Endpoint)
			return ensureBucket(ctx, s.env, s.env.S3Bucket)
		}
		if s.root == "" {
			return errors.New("S3: no repo root to install versitygw into")
		}
		bin, err := EnsureVersityGW(ctx, s.root, nil)
		if err != nil {
			return fmt.Errorf("S3: %w (or start the stack: make stack-up)", err)
		}
		e := s.env
		p, err := s.startOwned(ctx, "versitygw", func(port int, dir string) ([]string, []string, error) {
			e.S3Endpoint = "http://" + hostPort(port)
			data := filepath.Join(dir, "data")
			argv, env := versityArgv(bin, port, data, e)
			return argv, env, os.Mkdir(data, 0o755)
		}, func(ctx context.Context) error { return probeS3(ctx, e) })
		if err != nil {
			return fmt.Errorf("S3: %w", err)
		}
		s.env.S3Endpoint, s.env.S3Bucket = e.S3Endpoint, DefaultBucket
		logf("devstack: started versitygw at %s (pid %d)", e.S3Endpoint, p.cmd.Process.Pid)
		return ensureBucket(ctx, s.env, s.env.S3Bucket)

	case Kinesis:
		if st.KinesisEndpoint != "" && probeKinesis(ctx, st) == nil {
			s.env.KinesisEndpoint = st.KinesisEndpoint
			logf("devstack: using the running stack's Kinesis at %s", st.KinesisEndpoint)
			return nil
		}
		if s.root == "" {
			return errors.New("Kinesis: no repo root to install kinesalite into")
		}
		pkg, err := EnsureKinesalite(ctx, s.root, nil)
		if err != nil {
			return fmt.Errorf("Kinesis: %w (or start the stack: make stack-up)", err)
		}
		e := s.env
		p, err := s.startOwned(ctx, "kinesalite", func(port int, _ string) ([]string, []string, error) {
			e.KinesisEndpoint = "http://" + hostPort(port)
			return kinesaliteArgv(pkg, port), nil, nil
		}, func(ctx context.Context) error { return probeKinesis(ctx, e) })
		if err != nil {
			return fmt.Errorf("Kinesis: %w", err)
		}
		s.env.KinesisEndpoint = e.KinesisEndpoint
		logf("devstack: started kinesalite at %s (pid %d)", e.KinesisEndpoint, p.cmd.Process.Pid)
		return nil

	case MySQL:
		dsn := or(os.Getenv(EnvMySQLDSN), or(st.MySQLDSN, DefaultMySQLDSN))
		if err := probeMySQL(ctx, dsn); err != nil {
			return fmt.Errorf("MySQL: %w", err)
		}
		s.env.MySQLDSN = dsn
		return nil

	case Postgres:
		url := or(os.Getenv(EnvPostgresURL), or(st.PostgresURL, DefaultPostgresURL))
		if err := probePostgres(ctx, url); err != nil {
			return fmt.Errorf("PostgreSQL: %w", err)
		}
		s.env.PostgresURL = url
		return nil
	}
	return fmt.Errorf("unknown service %v", sv)
}

// startOwned starts a service process on a free port with a fresh temporary
// directory (for data and its log), retrying once on a port clash, and waits
// until probe succeeds.
func (s *testStack) startOwned(ctx context.Context, name string,
	argv func(port int, dir string) ([]string, []string, error), probe func(context.Context) error) (*proc, error) {
	var last error
	for attempt := 0; attempt < 2; attempt++ {
		dir, err := os.MkdirTemp("", "devstack-"+name+"-")
		if err != nil {
			return nil, fmt.Errorf("starting %s: %w", name, err)
		}
		s.dirs = append(s.dirs, dir)
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		args, env, err := argv(port, dir)
		if err != nil {
			return nil, fmt.Errorf("starting %s: %w", name, err)
		}
		p, err := startProc(name, args, env, filepath.Join(dir, name+".log"), owned)
		if err != nil {
			return nil, err
		}
		s.procs = append(s.procs, p)
		if last = waitFor(ctx, 60*time.Second, p, probe); last == nil {
			return p, nil
		}
		p.stop(time.Second)
	}
	return nil, last
}

// setProcessEnv points the standard AWS configuration at s.env.
func (s *testStack) setProcessEnv() {
	for _, kv := range s.env.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			os.Setenv(k, v)
		}
	}
}

func (s *testStack) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range s.procs {
		wg.Go(func() { p.stop(3 * time.Second) })
	}
	wg.Wait()
	if s.kafka != nil {
		s.kafka.Close()
	}
	for _, d := range s.dirs {
		os.RemoveAll(d)
	}
	s.loaded, s.root, s.stack, s.env, s.have = false, "", Env{}, Env{}, 0
	s.failed, s.procs, s.kafka, s.dirs = nil, nil, nil, nil
}

// kafkaOpts are the options of every kfake cluster of this package.
func kafkaOpts() []kfake.Opt {
	return []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(KafkaPartitions),
	}
}

// NewKafka starts an in-process single-broker kfake cluster for one test
// (topics created on demand with KafkaPartitions partitions; opts override)
// and returns its broker addresses. t.Cleanup closes it. It needs no running
// stack and does not skip under -short.
func NewKafka(t testing.TB, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append(kafkaOpts(), opts...)...)
	if err != nil {
		t.Fatalf("devstack: starting kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// NewBucket creates a fresh, uniquely named bucket for one test and returns
// its name. t.Cleanup empties and deletes it, unless the test failed (then
// it is kept for inspection and its name logged). e must come from
// Require(t, S3).
func (e Env) NewBucket(t testing.TB) string {
	t.Helper()
	if e.S3Endpoint == "" {
		t.Fatalf("devstack: NewBucket needs an Env from Require(t, devstack.S3)")
	}
	name := bucketName(t.Name())
	if err := ensureBucket(t.Context(), e, name); err != nil {
		t.Fatalf("devstack: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("devstack: keeping bucket %s at %s for inspection", name, e.S3Endpoint)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := deleteBucket(ctx, e, name); err != nil {
			t.Logf("devstack: %v", err)
		}
	})
	return name
}

// bucketName derives a valid, unique S3 bucket name from a test name.
func bucketName(testName string) string { return uniqueName(testName, "-") }

var notNameChars = regexp.MustCompile(`[^a-z0-9]+`)

// uniqueName derives a unique name from a test name: "t", sep, the test name
// lowercased with each run of characters other than a-z and 0-9 replaced by
// sep (cut to 50 bytes), sep and 8 random hex digits. At most 61 bytes, it is
// a valid S3 bucket name with sep "-" and a PostgreSQL identifier that needs
// no quoting with sep "_".
func uniqueName(testName, sep string) string {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	base := strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(testName), sep), sep)
	if base == "" {
		base = "test"
	}
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], sep)
	}
	return "t" + sep + base + sep + hex.EncodeToString(rnd[:])
}

// deleteBucket removes every object of bucket, then the bucket.
func deleteBucket(ctx context.Context, e Env, bucket string) error {
	c := e.S3Client()
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("emptying bucket %s: %w", bucket, err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]s3types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			ids[i] = s3types.ObjectIdentifier{Key: o.Key}
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("emptying bucket %s: %w", bucket, err)
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("deleting bucket %s: %w", bucket, err)
	}
	return nil
}
