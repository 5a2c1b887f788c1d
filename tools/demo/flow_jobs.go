package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// pollInterval is how often a background job's metrics are read.
const pollInterval = 250 * time.Millisecond

// process is a long-running binary started by flow.start.
type process struct {
	name   string
	log    string     // the path of its log
	exited chan error // receives its exit, once
	cmd    *exec.Cmd
}

// start starts binary name with its output in the log logName; the log is
// closed once the process has exited.
func (f *flow) start(ctx context.Context, logName, name string, args ...string) (*process, error) {
	cmd, lf, err := f.command(ctx, logName, nil, name, args...)
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, log: lf.Name(), exited: make(chan error, 1), cmd: cmd}
	go func() { p.exited <- cmd.Wait(); lf.Close() }()
	return p, nil
}

// stop sends the process SIGTERM and waits for a clean exit, killing it if
// it has not exited within 60s. It must not be called once its exit has been
// received from exited.
func (p *process) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			return fmt.Errorf("%s after SIGTERM: %w%s", p.name, err, lastLine(p.log))
		}
		return nil
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop within 60s of SIGTERM; killed", p.name)
	}
}

// background runs a long-running binary until done reports it has caught up,
// then stops it with SIGTERM and waits for a clean exit.
func (f *flow) background(ctx context.Context, logName, name string, args []string, done func(ctx context.Context) (bool, error)) error {
	p, err := f.start(ctx, logName, name, args...)
	if err != nil {
		return err
	}
	deadline := time.NewTimer(f.Wait)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		select {
		case err := <-p.exited:
			return fmt.Errorf("%s exited before it had caught up: %v%s", name, err, lastLine(p.log))
		case <-ctx.Done():
			_ = p.stop()
			return ctx.Err()
		case <-deadline.C:
			err := p.stop()
			return errors.Join(fmt.Errorf("%s had not caught up after %s (last check: %v)", name, f.Wait, lastErr), err)
		case <-tick.C:
			ok, err := done(ctx)
			lastErr = err
			if ok {
				return p.stop()
			}
		}
	}
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr() (string, error) {
	p, err := devstack.FreePort()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), err
}

// promSample is one Prometheus sample: metric name, labels, value.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape reads the Prometheus text exposition at http://addr/metrics.
func scrape(ctx context.Context, addr string) ([]promSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics parses the Prometheus text format (labels without commas or
// escaped quotes in their values, which is all our metrics have).
func parseMetrics(r io.Reader) ([]promSample, error) {
	var out []promSample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		s := promSample{name: line[:i], value: v, labels: map[string]string{}}
		if j := strings.IndexByte(s.name, '{'); j >= 0 {
			for _, kv := range strings.Split(strings.TrimSuffix(s.name[j+1:], "}"), ",") {
				if k, v, ok := strings.Cut(kv, "="); ok {
					s.labels[k] = strings.Trim(v, `"`)
				}
			}
			s.name = s.name[:j]
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// sum adds the samples of metric name whose label key equals value.
func sum(ss []promSample, name, key, value string) float64 {
	var n float64
	for _, s := range ss {
		if s.name == name && (key == "" || s.labels[key] == value) {
			n += s.value
		}
	}
	return n
}

// topic returns the Kafka topic of table t.
func (f *flow) topic(t clean.Table) string { return landing.Topic(f.Prefix, t) }

// kafkaEnds returns the end offset of every partition of topic.
func (f *flow) kafkaEnds(ctx context.Context, topic string) (map[int]int64, error) {
	broker := f.Env.KafkaBrokers[0]
	conn, err := kafka.DialContext(ctx, "tcp", broker)
	if err != nil {
		return nil, fmt.Errorf("dialing Kafka at %s: %w", broker, err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return nil, fmt.Errorf("listing the partitions of %s: %w", topic, err)
	}
	ends := map[int]int64{}
	for _, p := range parts {
		c, err := kafka.DialLeader(ctx, "tcp", broker, topic, p.ID)
		if err != nil {
			return nil, fmt.Errorf("dialing the leader of %s/%d: %w", topic, p.ID, err)
		}
		end, err := c.ReadLastOffset()
		c.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the end offset of %s/%d: %w", topic, p.ID, err)
		}
		ends[p.ID] = end
	}
	return ends, nil
}

func (f *flow) s3sink(ctx context.Context) (string, error) {
	ends := map[string]map[int]int64{}
	var want int64
	for _, t := range clean.Tables {
		e, err := f.kafkaEnds(ctx, f.topic(t))
		if err != nil {
			return "", err
		}
		ends[f.topic(t)] = e
		for _, n := range e {
			want += n
		}
	}
	if sent := f.emitted["kafka"].total(); want != sent {
		// A producer retry can store a batch twice; every stored record is landed.
		fmt.Fprintf(f.Out, "    note: Kafka holds %d records, emit reported %d sent\n", want, sent)
	}
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	args := []string{"--brokers", strings.Join(f.Env.KafkaBrokers, ","), "--prefix", f.Prefix,
		"--output", f.landingURL(), "--flush-size", strconv.Itoa(f.FlushSize),
		"--group", "pinpipe-s3sink-" + f.Prefix, "--metrics", addr}
	// Caught up: every partition holding records has been read to its end
	// (lag 0 after its last record); SIGTERM then flushes the partial objects.
	caughtUp := func(ctx context.Context) (bool, error) {
		ss, err := scrape(ctx, addr)
		if err != nil {
			return false, err
		}
		for topic, e := range ends {
			for p, end := range e {
				if end == 0 {
					continue
				}
				seen := false
				for _, s := range ss {
					if s.name == "pinpipe_s3sink_lag_records" && s.labels["topic"] == topic && s.labels["partition"] == strconv.Itoa(p) {
						seen = true
						if s.value != 0 {
							return false, fmt.Errorf("%s/%d is %v records behind", topic, p, s.value)
						}
					}
				}
				if !seen {
					return false, fmt.Errorf("%s/%d not read yet", topic, p)
				}
			}
		}
		return true, nil
	}
	if err := f.background(ctx, "s3sink", "s3sink", args, caughtUp); err != nil {
		return "", err
	}
	// Count what is in the landing area.
	b, err := objstore.Open(ctx, f.landingURL(), objstore.Options{})
	if err != nil {
		return "", err
	}
	f.landed = map[clean.Table]int64{}
	var objects int
	for _, t := range clean.Tables {
		objs, err := b.List(ctx, f.topic(t)+"/")
		if err != nil {
			return "", err
		}
		objects += len(objs)
		for _, o := range objs {
			n, err := countLines(ctx, b, o.Key)
			if err != nil {
				return "", err
			}
			f.landed[t] += n
		}
	}
	var landed int64
	for _, n := range f.landed {
		landed += n
	}
	if landed != want {
		return "", fmt.Errorf("landed %d records in %d objects, want the %d Kafka holds", landed, objects, want)
	}
	return fmt.Sprintf("%d records landed in %d objects", landed, objects), nil
}

// countLines counts the newline-terminated lines of an uncompressed object.
func countLines(ctx context.Context, b objstore.Reader, key string) (int64, error) {
	rc, err := b.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", key, err)
	}
	n := int64(bytes.Count(data, []byte{'\n'}))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n, nil
}

func (f *flow) batchjob(ctx context.Context) (string, error) {
	args := append([]string{"--input", f.landingURL(), "--prefix", f.Prefix}, f.tableFlags()...)
	out, err := f.runBinary(ctx, "batchjob", "batchjob", append(args, "--date", f.Date, "--json", "--progress", "never")...)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(out, &f.batchRes); err != nil {
		return "", fmt.Errorf("reading the JSON summary of batchjob: %w", err)
	}
	var written int64
	for _, t := range clean.Tables {
		written += f.batchRes.Quality.Table(t).RowsWritten
	}
	return fmt.Sprintf("committed %d tables (run %s) to %s: %d lines read, %d clean rows, %d data files",
		len(f.batchRes.Snapshots), f.batchRes.RunID, f.batchRes.Published, f.batchRes.Lines(), written, len(f.batchRes.Files)), nil
}

func (f *flow) streamjob(ctx context.Context) (string, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	args := append([]string{"--prefix", f.Prefix}, f.tableFlags()...)
	args = append(args, "--metrics", addr, "--flush-interval", "1s", "--initial-position", "trim_horizon", "--log-level", "warn")
	want := f.emitted["kinesis"]
	// Caught up: every emitted record consumed, and all of it committed
	// (clean rows and rejects; blank records are only skipped).
	caughtUp := func(ctx context.Context) (bool, error) {
		ss, err := scrape(ctx, addr)
		if err != nil {
			return false, err
		}
		counts := map[clean.Table]streamCounts{}
		for _, t := range clean.Tables {
			c := streamCounts{
				In:       int64(sum(ss, "pinpipe_stream_records_in_total", "table", string(t))),
				Out:      int64(sum(ss, "pinpipe_stream_records_out_total", "table", string(t))),
				Rejected: int64(sum(ss, "pinpipe_stream_records_rejected_total", "table", string(t))),
				Blank:    int64(sum(ss, "pinpipe_stream_records_blank_total", "table", string(t))),
			}
			counts[t] = c
			if c.In < want[t] || c.Out+c.Rejected+c.Blank < c.In {
				return false, fmt.Errorf("%s: %d of %d records in, %d stored", t, c.In, want[t], c.Out+c.Rejected+c.Blank)
			}
		}
		f.stream = counts
		return true, nil
	}
	if err := f.background(ctx, "streamjob", "streamjob", args, caughtUp); err != nil {
		return "", err
	}
	var in, out, rej int64
	for _, c := range f.stream {
		in, out, rej = in+c.In, out+c.Out, rej+c.Rejected
	}
	return fmt.Sprintf("%d records in; %d clean rows and %d rejected committed to namespace %s", in, out, rej, f.namespace()), nil
}
