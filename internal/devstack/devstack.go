// Package devstack starts (or reuses) the local stack of real services that the
// tests and the demo talk to: a Kafka-protocol broker (franz-go kfake), an
// S3-compatible server (versitygw), a Kinesis server (kinesalite), and checks
// the machine's MariaDB and PostgreSQL (the SQL catalog of the Iceberg
// tables). It is dev-only tooling: no production binary imports it.
package devstack

import "strings"

// Service names one service of the local stack.
type Service int

// The services of the local stack.
const (
	Kafka Service = 1 << iota
	S3
	Kinesis
	MySQL
	Postgres
)

// Env says where the services of a running stack answer.
type Env struct {
	KafkaBrokers    []string // "127.0.0.1:PORT"
	S3Endpoint      string   // "http://127.0.0.1:PORT"
	S3Bucket        string   // a bucket that exists
	KinesisEndpoint string   // "http://127.0.0.1:PORT"
	GatewayURL      string   // pinpipe's gateway in front of the stack's Kafka and Kinesis, "http://127.0.0.1:PORT" (devstack up only)
	MySQLDSN        string   // go-sql-driver DSN, e.g. "root@tcp(127.0.0.1:3306)/test?parseTime=false"
	PostgresURL     string   // pgx URL (database/sql driver "pgx"), e.g. "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	Region          string   // dummy region, e.g. "us-east-1"
	AccessKey       string   // dummy credentials accepted by the S3 and Kinesis stand-ins
	SecretKey       string
}

// String returns the service names in s joined by "|", e.g. "Kafka|S3".
func (s Service) String() string {
	var names []string
	for _, n := range serviceNames {
		if s&n.s != 0 {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "|")
}

var serviceNames = [...]struct {
	s    Service
	name string
}{{Kafka, "Kafka"}, {S3, "S3"}, {Kinesis, "Kinesis"}, {MySQL, "MySQL"}, {Postgres, "Postgres"}}

// Defaults of the local stack.
const (
	DefaultKafkaPort   = 19092
	DefaultS3Port      = 19000
	DefaultKinesisPort = 19567
	DefaultGatewayPort = 19082
	DefaultBucket      = "pinpipe"
	DefaultMySQLDSN    = "root@tcp(127.0.0.1:3306)/test"
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRegion      = "us-east-1"
	DefaultAccessKey   = "pinpipe"
	DefaultSecretKey   = "pinpipe-secret"

	// KafkaPartitions is the partition count of topics the stand-in broker
	// creates on demand (first produce or metadata request naming them).
	KafkaPartitions = 3
)

// Environment variables read and written by the stack.
const (
	EnvS3Endpoint      = "AWS_ENDPOINT_URL_S3"
	EnvKinesisEndpoint = "AWS_ENDPOINT_URL_KINESIS"
	EnvAccessKey       = "AWS_ACCESS_KEY_ID"
	EnvSecretKey       = "AWS_SECRET_ACCESS_KEY"
	EnvRegion          = "AWS_REGION"
	// EnvDefaultRegion is the region variable older AWS CLI and boto3
	// versions read instead of AWS_REGION; the stack sets both.
	EnvDefaultRegion = "AWS_DEFAULT_REGION"
	EnvKafkaBrokers  = "PINPIPE_KAFKA_BROKERS" // comma-separated host:port list
	EnvS3Bucket      = "PINPIPE_S3_BUCKET"
	EnvMySQLDSN      = "PINPIPE_MYSQL_DSN"
	EnvPostgresURL   = "PINPIPE_POSTGRES_URL"
	EnvGatewayURL    = "PINPIPE_GATEWAY_URL" // the stack's gateway (emit --to URL/topics/ or URL/streams/)

	// Overrides read by DefaultConfig (devstack up/down) and Require.
	EnvStackDir    = "PINPIPE_STACK_DIR"
	EnvKafkaPort   = "PINPIPE_STACK_KAFKA_PORT"
	EnvS3Port      = "PINPIPE_STACK_S3_PORT"
	EnvKinesisPort = "PINPIPE_STACK_KINESIS_PORT"
	EnvGatewayPort = "PINPIPE_STACK_GATEWAY_PORT"
)

// Environ returns the environment assignments ("KEY=value") that point the
// standard AWS configuration and pinpipe's binaries at e. Empty fields are
// left out.
func (e Env) Environ() []string {
	var out []string
	add := func(k, v string) {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	add(EnvS3Endpoint, e.S3Endpoint)
	add(EnvKinesisEndpoint, e.KinesisEndpoint)
	add(EnvAccessKey, e.AccessKey)
	add(EnvSecretKey, e.SecretKey)
	add(EnvRegion, e.Region)
	add(EnvDefaultRegion, e.Region)
	add(EnvKafkaBrokers, strings.Join(e.KafkaBrokers, ","))
	add(EnvS3Bucket, e.S3Bucket)
	add(EnvMySQLDSN, e.MySQLDSN)
	add(EnvPostgresURL, e.PostgresURL)
	add(EnvGatewayURL, e.GatewayURL)
	return out
}

// envFromVars is the inverse of Environ.
func envFromVars(vars map[string]string) Env {
	e := Env{
		S3Endpoint:      vars[EnvS3Endpoint],
		KinesisEndpoint: vars[EnvKinesisEndpoint],
		AccessKey:       vars[EnvAccessKey],
		SecretKey:       vars[EnvSecretKey],
		Region:          vars[EnvRegion],
		S3Bucket:        vars[EnvS3Bucket],
		MySQLDSN:        vars[EnvMySQLDSN],
		PostgresURL:     vars[EnvPostgresURL],
		GatewayURL:      vars[EnvGatewayURL],
	}
	for _, b := range strings.Split(vars[EnvKafkaBrokers], ",") {
		if b = strings.TrimSpace(b); b != "" {
			e.KafkaBrokers = append(e.KafkaBrokers, b)
		}
	}
	return e
}
