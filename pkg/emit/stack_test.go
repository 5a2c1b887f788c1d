package emit_test

// The real services these tests talk to: an
// isolated in-process kfake cluster per test (Kafka protocol, below), and the
// shared kinesalite and MariaDB of the local stack from internal/devstack (started when no stack
// runs). Each skips under -short; a missing service fails the test with how to
// get it.

import (
	"database/sql"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pinpipe/pinpipe/internal/devstack"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}

var uniq atomic.Int64

// prefix returns a topic/stream prefix unique to the test (Kinesis names
// allow [a-zA-Z0-9_.-], at most 128 characters).
func prefix(t testing.TB) string {
	return fmt.Sprintf("t%d%d%d", os.Getpid(), time.Now().UnixNano()%1e6, uniq.Add(1))
}

// startKafka starts an isolated in-process Kafka-protocol cluster that, unlike
// devstack's, does not create topics on demand: the emitter's check for a
// missing topic (and its --create) is tested against it.
func startKafka(t testing.TB) []string {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// startKinesis returns the local Kinesis endpoint; the standard AWS
// configuration of this process points at it.
func startKinesis(t testing.TB) string {
	return devstack.Require(t, devstack.Kinesis).KinesisEndpoint
}

// mysqlDSN returns the DSN of the local MariaDB.
func mysqlDSN(t testing.TB) string {
	return devstack.Require(t, devstack.MySQL).MySQLDSN
}

func openDB(t testing.TB, dsn string) *sql.DB {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}
