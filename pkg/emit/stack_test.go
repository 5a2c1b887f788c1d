package emit_test

// Local starters of the real services these tests talk to: an in-process
// kfake cluster (Kafka protocol), kinesalite (Kinesis) and the local MariaDB.
// They stand in for internal/devstack until it lands; each skips under -short.

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/twmb/franz-go/pkg/kfake"
)

var uniq atomic.Int64

// name returns a name unique to this test process and test.
func name(t testing.TB, what string) string {
	r := strings.NewReplacer("/", "_", " ", "_", "-", "_")
	return fmt.Sprintf("%s_%s_%d_%d", what, r.Replace(t.Name()), os.Getpid(), uniq.Add(1))
}

// prefix returns a topic/stream prefix unique to the test (Kinesis names
// allow [a-zA-Z0-9_.-], at most 128 characters).
func prefix(t testing.TB) string {
	p := fmt.Sprintf("t%d%d%d", os.Getpid(), time.Now().UnixNano()%1e6, uniq.Add(1))
	return p
}

// startKafka starts an isolated in-process Kafka-protocol cluster.
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

func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// startKinesis starts kinesalite on a free port and points the standard AWS
// configuration at it through the environment.
func startKinesis(t testing.TB) string {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	bin := filepath.Join(repoRoot(t), ".cache", "npm", "node_modules", ".bin", "kinesalite")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("kinesalite not installed at %s", bin)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--createStreamMs", "0", "--deleteStreamMs", "0", "--updateStreamMs", "0", "--shardLimit", "100")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kinesalite: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kinesalite did not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	endpoint := "http://" + addr
	t.Setenv("AWS_ENDPOINT_URL_KINESIS", endpoint)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	return endpoint
}

// mysqlDSN is the local MariaDB; the test skips when it does not answer.
func mysqlDSN(t testing.TB) string {
	if testing.Short() {
		t.Skip("integration test (-short)")
	}
	dsn := os.Getenv("PINPIPE_TEST_MYSQL_DSN")
	if dsn == "" {
		dsn = "root@tcp(127.0.0.1:3306)/test"
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Skipf("MariaDB at %s: %v", dsn, err)
	}
	return dsn
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
