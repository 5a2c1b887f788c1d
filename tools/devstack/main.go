// Command devstack starts and stops the local stack of stand-in services
// (Kafka via franz-go kfake, S3 via versitygw, Kinesis via kinesalite) and
// checks the machine's MariaDB and PostgreSQL. Dev-only.
//
//	devstack up      start what is not running, wait, write .stack/env
//	devstack down    stop what `up` started
//	devstack env     print .stack/env (source it: eval "$(devstack env)")
//	devstack kafka --addr 127.0.0.1:19092   run a kfake broker in the foreground
//
// Overrides: PINPIPE_STACK_DIR, PINPIPE_STACK_{KAFKA,S3,KINESIS}_PORT,
// PINPIPE_S3_BUCKET, PINPIPE_MYSQL_DSN, PINPIPE_POSTGRES_URL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/twmb/franz-go/pkg/kfake"
)

const usage = "usage: devstack up | down | env | kafka --addr 127.0.0.1:PORT"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	switch args[0] {
	case "kafka":
		return runKafka(ctx, args[1:], log)
	case "up", "down", "env":
	default:
		return fmt.Errorf("unknown command %q; %s", args[0], usage)
	}
	cfg, err := devstack.DefaultConfig(os.Getenv)
	if err != nil {
		return err
	}
	cfg.Logger = log
	switch args[0] {
	case "up":
		start := time.Now()
		if _, err := devstack.Up(ctx, cfg); err != nil {
			return err
		}
		log.Info("stack up", "took", time.Since(start).Round(time.Millisecond), "env", devstack.EnvPath(cfg.Dir))
		fmt.Fprintf(stdout, "stack up; load it with: . %s\n", devstack.EnvPath(cfg.Dir))
		return nil
	case "down":
		return devstack.Down(ctx, cfg.Dir, 5*time.Second, log)
	default: // env
		b, err := os.ReadFile(devstack.EnvPath(cfg.Dir))
		if err != nil {
			return fmt.Errorf("reading stack env (is the stack up? `make stack-up`): %w", err)
		}
		_, err = stdout.Write(b)
		return err
	}
}

// runKafka serves a single-broker kfake cluster on --addr until ctx ends.
// Topics are created on first use with devstack.KafkaPartitions partitions.
func runKafka(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("kafka", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:"+strconv.Itoa(devstack.DefaultKafkaPort), "listen address (host must be 127.0.0.1)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, portStr, err := net.SplitHostPort(*addr)
	if err != nil {
		return err
	}
	if host != "127.0.0.1" {
		return fmt.Errorf("kafka --addr %s: kfake listens on 127.0.0.1 only", *addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("kafka --addr %s: bad port: %w", *addr, err)
	}
	c, err := kfake.NewCluster(
		kfake.Ports(port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(devstack.KafkaPartitions),
		kfake.ClusterID("pinpipe-devstack"),
	)
	if err != nil {
		return fmt.Errorf("starting kfake on %s: %w", *addr, err)
	}
	defer c.Close()
	log.Info("kfake broker listening", "addrs", c.ListenAddrs())
	<-ctx.Done()
	log.Info("kfake broker stopping")
	return nil
}
