package devstack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/segmentio/kafka-go"
)

// probeTimeout bounds one protocol check.
const probeTimeout = 2 * time.Second

// mysqlHelp says how to get MariaDB running.
const mysqlHelp = "start MariaDB with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` " +
	"(or install it: apt-get install -y mariadb-server); it must accept root with no password on 127.0.0.1:3306, database test, " +
	"or set " + EnvMySQLDSN

// postgresHelp says how to get PostgreSQL running.
const postgresHelp = "start PostgreSQL with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` " +
	"(or install it: apt-get install -y postgresql); it must accept user postgres with no password (trust) on 127.0.0.1:5432, " +
	"database test, or set " + EnvPostgresURL

// awsConfig returns an AWS configuration with e's static credentials and
// region, independent of the user's ~/.aws files.
func (e Env) awsConfig() aws.Config {
	region := e.Region
	if region == "" {
		region = DefaultRegion
	}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(e.AccessKey, e.SecretKey, ""),
	}
}

// S3Client returns a path-style S3 client for e.S3Endpoint.
func (e Env) S3Client() *s3.Client {
	return s3.NewFromConfig(e.awsConfig(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(e.S3Endpoint)
		o.UsePathStyle = true
	})
}

// KinesisClient returns a Kinesis client for e.KinesisEndpoint.
func (e Env) KinesisClient() *kinesis.Client {
	return kinesis.NewFromConfig(e.awsConfig(), func(o *kinesis.Options) {
		o.BaseEndpoint = aws.String(e.KinesisEndpoint)
	})
}

// probeKafka sends a metadata request to addr.
func probeKafka(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	d := kafka.Dialer{Timeout: probeTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("probing Kafka at %s: %w", addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(probeTimeout)); err != nil {
		return fmt.Errorf("probing Kafka at %s: %w", addr, err)
	}
	if _, err := conn.Brokers(); err != nil {
		return fmt.Errorf("probing Kafka at %s: metadata: %w", addr, err)
	}
	return nil
}

// probeS3 lists the buckets at e.S3Endpoint.
func probeS3(ctx context.Context, e Env) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := e.S3Client().ListBuckets(ctx, &s3.ListBucketsInput{}, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		return fmt.Errorf("probing S3 at %s: %w", e.S3Endpoint, err)
	}
	return nil
}

// probeKinesis lists the streams at e.KinesisEndpoint.
func probeKinesis(ctx context.Context, e Env) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := e.KinesisClient().ListStreams(ctx, &kinesis.ListStreamsInput{}, func(o *kinesis.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		return fmt.Errorf("probing Kinesis at %s: %w", e.KinesisEndpoint, err)
	}
	return nil
}

// probeMySQL runs SELECT 1 through dsn.
func probeMySQL(ctx context.Context, dsn string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("probing MySQL: parsing DSN: %w", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = probeTimeout
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return fmt.Errorf("probing MySQL at %s: %w", cfg.Addr, err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var one int
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("probing MySQL at %s (db %q): %w; %s", cfg.Addr, cfg.DBName, err, mysqlHelp)
	}
	return nil
}

// probePostgres runs SELECT 1 through url with the pgx database/sql driver.
func probePostgres(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("probing PostgreSQL: %w", err) // pgx redacts the password
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = probeTimeout
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var one int
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		addr := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
		return fmt.Errorf("probing PostgreSQL at %s (user %q, db %q): %w; %s", addr, cfg.User, cfg.Database, err, postgresHelp)
	}
	return nil
}

// ensureBucket creates bucket unless it exists.
func ensureBucket(ctx context.Context, e Env, bucket string) error {
	_, err := e.S3Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var owned *s3types.BucketAlreadyOwnedByYou
	var exists *s3types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("creating bucket %s: %w", bucket, err)
	}
	return nil
}

// portBusy reports whether something accepts TCP connections on addr.
func portBusy(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// waitFor polls probe until it succeeds, p exits, or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, p *proc, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = probe(ctx); last == nil {
			return nil
		}
		if p != nil {
			if err := p.exited(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			if p != nil {
				return fmt.Errorf("%s did not answer within %s: %w; log %s:\n%s", p.name, timeout, last, p.logPath, logTail(p.logPath))
			}
			return fmt.Errorf("no answer within %s: %w", timeout, last)
		case <-tick.C:
		}
	}
}

// probeGateway checks that the stack's gateway answers its API: GET /streams
// lists the streams of the stack's Kinesis.
func probeGateway(ctx context.Context, e Env) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.GatewayURL+"/streams", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probing the gateway at %s: %w", e.GatewayURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probing the gateway at %s: GET /streams: %s", e.GatewayURL, resp.Status)
	}
	return nil
}
