// Package devstack starts (or reuses) the local stack of real services that the
// tests and the demo talk to: a Kafka-protocol broker (franz-go kfake), an
// S3-compatible server (versitygw), a Kinesis server (kinesalite) and the local
// MariaDB. It is dev-only tooling: no production binary imports it.
package devstack

// Service names one service of the local stack.
type Service int

// The services of the local stack.
const (
	Kafka Service = 1 << iota
	S3
	Kinesis
	MySQL
)

// Env says where the services of a running stack answer.
type Env struct {
	KafkaBrokers    []string // "127.0.0.1:PORT"
	S3Endpoint      string   // "http://127.0.0.1:PORT"
	S3Bucket        string   // a bucket that exists
	KinesisEndpoint string   // "http://127.0.0.1:PORT"
	MySQLDSN        string   // go-sql-driver DSN, e.g. "root@tcp(127.0.0.1:3306)/test?parseTime=false"
	Region          string   // dummy region, e.g. "us-east-1"
	AccessKey       string   // dummy credentials accepted by the S3 and Kinesis stand-ins
	SecretKey       string
}
