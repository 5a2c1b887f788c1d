package main

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/pinpipe/pinpipe/internal/devstack"
)

// TestUpUpDown builds the tool, runs `up` twice and `down` on private ports
// and a private stack dir, and checks that every process it started is gone.
func TestUpUpDown(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "devstack")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(tmp, "stack")
	env := append(os.Environ(),
		devstack.EnvStackDir+"="+dir,
		devstack.EnvKafkaPort+"="+strconv.Itoa(freePort(t)),
		devstack.EnvS3Port+"="+strconv.Itoa(freePort(t)),
		devstack.EnvKinesisPort+"="+strconv.Itoa(freePort(t)),
		devstack.EnvGatewayPort+"="+strconv.Itoa(freePort(t)),
		devstack.EnvS3Bucket+"=updown",
	)
	devstackCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("devstack %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() { // stop the stack even if the test failed half-way
		cmd := exec.Command(bin, "down")
		cmd.Env = env
		_ = cmd.Run()
	})

	devstackCmd("up")
	pids := readPids(t, filepath.Join(dir, "pids"))
	if len(pids) != 4 {
		t.Fatalf("first up recorded %d processes, want 4 (kafka, s3, kinesis, gateway): %v", len(pids), pids)
	}
	for name, pid := range pids {
		if !running(pid) {
			t.Errorf("%s (pid %d) not running after up", name, pid)
		}
	}
	e, err := devstack.ReadEnvFile(devstack.EnvPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if e.S3Bucket != "updown" || len(e.KafkaBrokers) != 1 || e.S3Endpoint == "" || e.KinesisEndpoint == "" || e.MySQLDSN == "" || e.PostgresURL == "" || e.GatewayURL == "" {
		t.Errorf("env file incomplete: %+v", e)
	}
	// The gateway serves the stack's Kinesis: a stream made through it is
	// in kinesalite.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.GatewayURL+"/streams/updown-pin", strings.NewReader(`{"ShardCount": 1}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("POST %s/streams/updown-pin: %v %v", e.GatewayURL, resp, err)
	} else {
		resp.Body.Close()
	}
	if _, err := e.KinesisClient().DescribeStream(t.Context(), &kinesis.DescribeStreamInput{StreamName: aws.String("updown-pin")}); err != nil {
		t.Errorf("the stream made through the stack's gateway is not in its Kinesis: %v", err)
	}
	if got := devstackCmd("env"); !strings.Contains(got, "export PINPIPE_KAFKA_BROKERS='"+e.KafkaBrokers[0]+"'") {
		t.Errorf("devstack env printed:\n%s", got)
	}

	out := devstackCmd("up")
	if strings.Count(out, "already answering") != 4 {
		t.Errorf("second up did not reuse all four services:\n%s", out)
	}
	if again := readPids(t, filepath.Join(dir, "pids")); len(again) != 4 || again["kafka"] != pids["kafka"] || again["gateway"] != pids["gateway"] {
		t.Errorf("second up changed the pids: %v, then %v", pids, again)
	}

	// Without PostgreSQL, up fails saying how to start it, but leaves the
	// other services running and the env file written.
	noPostgres := "postgres://postgres@127.0.0.1:" + strconv.Itoa(freePort(t)) + "/test?sslmode=disable"
	cmd := exec.CommandContext(t.Context(), bin, "up")
	cmd.Env = append(env[:len(env):len(env)], devstack.EnvPostgresURL+"="+noPostgres)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "pg_ctlcluster") || strings.Count(string(out), "already answering") != 4 {
		t.Errorf("up without PostgreSQL: %v, want an error saying how to start it after reusing all four services:\n%s", err, out)
	}
	if e, err := devstack.ReadEnvFile(devstack.EnvPath(dir)); err != nil || e.PostgresURL != noPostgres || e.S3Endpoint == "" {
		t.Errorf("env file after up without PostgreSQL: %+v, %v", e, err)
	}
	for name, pid := range pids {
		if !running(pid) {
			t.Errorf("%s (pid %d) not running after up without PostgreSQL", name, pid)
		}
	}

	devstackCmd("down")
	for name, pid := range pids {
		if running(pid) {
			t.Errorf("%s (pid %d) still running after down", name, pid)
		}
	}
	for _, f := range []string{"pids", "env"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s left after down (stat: %v)", f, err)
		}
	}
	devstackCmd("down") // a second down has nothing to do
}

func readPids(t *testing.T, path string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pids := make(map[string]int)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			t.Fatalf("bad pids line %q", sc.Text())
		}
		pid, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatal(err)
		}
		pids[f[0]] = pid
	}
	return pids
}

// running reports whether pid exists and is not a zombie (PID 1 of a
// container may never reap the orphans it inherits).
func running(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i >= 0 && i+2 < len(data) && data[i+2] != 'Z' && data[i+2] != 'X'
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
