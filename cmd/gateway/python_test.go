package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/landtest"
	"github.com/pinpipe/pinpipe/internal/streamtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
)

// TestPythonClient runs the gateway binary on the local stack and posts to
// it with python3-requests exactly as the original's posting scripts do
// (testdata/post.py): each record to the REST Proxy resource and to the
// Kinesis PutRecord resource. It then reads the topics and streams back:
// every record the script was answered 200 for is there once, as sent.
func TestPythonClient(t *testing.T) {
	env := devstack.Require(t, devstack.Kafka|devstack.Kinesis)
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import requests").Run()
	}
	if err != nil {
		t.Fatalf("python3 with requests is needed (Debian: apt-get install python3-requests): %v", err)
	}
	prefix := streamtest.UniqueName("py")
	api := streamtest.KinesisClient(env, env.KinesisEndpoint)
	conn, err := kafka.Dial("tcp", env.KafkaBrokers[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range clean.Tables {
		if err := conn.CreateTopics(kafka.TopicConfig{Topic: landing.Topic(prefix, tb), NumPartitions: 2, ReplicationFactor: 1}); err != nil {
			t.Fatal(err)
		}
		streamtest.CreateStream(t, api, landing.Stream(prefix, tb), 1)
	}
	conn.Close()

	bin := devstack.Build(t, ".")
	cmd := exec.Command(bin, "--brokers", strings.Join(env.KafkaBrokers, ","), "--kinesis", "--listen", "127.0.0.1:0",
		"--path-prefix", "/prod", "--metrics", "")
	cmd.Env = append(os.Environ(), env.Environ()...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	base := make(chan string, 1)
	var logs bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logs.WriteString(line + "\n")
			if _, url, ok := strings.Cut(line, " url="); ok && strings.Contains(line, "msg=serving ") {
				url, _, _ = strings.Cut(url, " ")
				base <- url
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var url string
	select {
	case url = <-base:
	case err := <-exited:
		t.Fatalf("gateway exited: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		err := <-exited // the goroutine writes logs until then
		t.Fatalf("gateway not serving after 30s (%v):\n%s", err, logs.String())
	}

	const count = 20
	script, _ := filepath.Abs("testdata/post.py")
	out, err := exec.CommandContext(t.Context(), py, script, url, prefix, fmt.Sprint(count)).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("post.py: %v\n%s", err, stderr)
	}
	sent := map[string]map[clean.Table][]string{"kafka": {}, "kinesis": {}}
	for line := range strings.Lines(string(out)) {
		var rec struct {
			Kind  string
			Table clean.Table
			Value json.RawMessage
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("post.py printed %q: %v", line, err)
		}
		sent[rec.Kind][rec.Table] = append(sent[rec.Kind][rec.Table], canonical(t, rec.Value))
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("gateway after SIGTERM: %v\n%s", err, logs.String())
	}

	for _, tb := range clean.Tables {
		var inKafka []string
		for _, msgs := range landtest.Messages(t, t.Context(), env.KafkaBrokers, landing.Topic(prefix, tb)) {
			for _, m := range msgs {
				inKafka = append(inKafka, canonical(t, m.Value))
			}
		}
		var inKinesis []string
		for _, p := range streamtest.ReadStream(t, api, landing.Stream(prefix, tb)) {
			inKinesis = append(inKinesis, canonical(t, p.Data))
		}
		if len(sent["kafka"][tb]) != count || len(sent["kinesis"][tb]) != count {
			t.Fatalf("%s: the script sent %d and %d records, want %d each", tb, len(sent["kafka"][tb]), len(sent["kinesis"][tb]), count)
		}
		sameSet(t, "topic "+landing.Topic(prefix, tb), inKafka, sent["kafka"][tb])
		sameSet(t, "stream "+landing.Stream(prefix, tb), inKinesis, sent["kinesis"][tb])
	}
	if t.Failed() {
		t.Logf("gateway log:\n%s", logs.String())
	}
}

// canonical re-encodes a JSON value with sorted keys.
func canonical(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("stored record %q is not JSON: %v", raw, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func sameSet(t *testing.T, where string, got, want []string) {
	t.Helper()
	count := func(s []string) map[string]int {
		m := map[string]int{}
		for _, v := range s {
			m[v]++
		}
		return m
	}
	if g, w := count(got), count(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s holds %d records, the script was answered 200 for %d; first stored %q, first sent %q", where, len(got), len(want), first(got), first(want))
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
