package emit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kafkax"
	"github.com/pinpipe/pinpipe/pkg/landing"
)

// KafkaOptions configures a KafkaSink.
type KafkaOptions struct {
	// Brokers are the bootstrap brokers, "host:port". Required.
	Brokers []string
	// Prefix P names the topics P.pin, P.geo, P.user. Required.
	Prefix string
	// CreateTopics creates missing topics in Check (with Partitions
	// partitions and the broker's default replication). Default: false, a
	// missing topic is an error.
	CreateTopics bool
	// Partitions of created topics. Default: 3.
	Partitions int
	// MaxAttempts is how often a batch is tried before its records fail.
	// Default: 10.
	MaxAttempts int
	// BatchSize is the number of messages per produce batch and partition.
	// Default: 1000.
	BatchSize int
	// WriteTimeout of one produce request. Default: 10s.
	WriteTimeout time.Duration
	// Compression of produce batches: "none", "gzip", "snappy", "lz4",
	// "zstd". JSON records shrink several times, so the broker stores and
	// replicates less. Default: "lz4".
	Compression string
	// Security is how to connect: TLS and SASL. Default: plaintext.
	Security kafkax.Config
}

// Validate reports a bad option.
func (o KafkaOptions) Validate() error {
	if err := kafkax.CheckBrokers(o.Brokers); err != nil {
		return err
	}
	if o.Prefix == "" {
		return errors.New("kafka: no topic prefix")
	}
	if _, ok := compressions[o.Compression]; !ok {
		return fmt.Errorf("kafka compression %q: want none, gzip, snappy, lz4 or zstd", o.Compression)
	}
	return o.Security.Validate()
}

var compressions = map[string]kafka.Compression{
	"": kafka.Lz4, "none": 0, "gzip": kafka.Gzip, "snappy": kafka.Snappy, "lz4": kafka.Lz4, "zstd": kafka.Zstd,
}

// KafkaSink produces records to the topics P.pin, P.geo and P.user with the
// record key ind, acks=all, partitioned by the Java client's murmur2 hash of
// the key (the partition a Java producer such as the REST Proxy would choose).
//
// kafka-go has no idempotent producer (no producer id and sequence numbers),
// so a batch the broker stored but whose acknowledgement was lost is stored
// twice when retried. Retries are limited to the failed batches (kafka-go
// retries per partition batch, and only messages reported failed are
// reported), which keeps the window small; readers de-duplicate by ind.
type KafkaSink struct {
	opts      KafkaOptions
	w         *kafka.Writer
	transport *kafka.Transport
}

// NewKafkaSink returns a KafkaSink; it does no I/O (see Check).
func NewKafkaSink(opts KafkaOptions) (*KafkaSink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Partitions == 0 {
		opts.Partitions = 3
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 10
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 1000
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	// A transport of its own: kafka-go's default one is shared by the
	// process and caches metadata that predates topics created in Check.
	transport, err := opts.Security.Transport()
	if err != nil {
		return nil, err
	}
	transport.MetadataTTL = 10 * time.Second
	w := &kafka.Writer{
		Transport:       transport,
		Addr:            kafka.TCP(opts.Brokers...),
		Balancer:        kafka.Murmur2Balancer{},
		MaxAttempts:     opts.MaxAttempts,
		WriteBackoffMin: 100 * time.Millisecond,
		WriteBackoffMax: 2 * time.Second,
		BatchSize:       opts.BatchSize,
		BatchBytes:      16 << 20,
		// Write is synchronous and hands over whole batches: a short linger
		// only lets concurrent Writes to one partition share a request.
		BatchTimeout: 2 * time.Millisecond,
		WriteTimeout: opts.WriteTimeout,
		ReadTimeout:  opts.WriteTimeout,
		RequiredAcks: kafka.RequireAll,
		Compression:  compressions[opts.Compression],
	}
	return &KafkaSink{opts: opts, w: w, transport: transport}, nil
}

// Topic returns the topic of table t.
func (s *KafkaSink) Topic(t clean.Table) string { return landing.Topic(s.opts.Prefix, t) }

// Check dials the brokers and makes sure the three topics exist (creating
// them when CreateTopics is set).
func (s *KafkaSink) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sec := s.opts.Security
	conn, err := sec.DialAny(ctx, s.opts.Brokers, 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	at := conn.RemoteAddr().String()
	var missing []string
	for _, t := range clean.Tables {
		topic := s.Topic(t)
		parts, err := conn.ReadPartitions(topic)
		if err == nil && len(parts) > 0 {
			continue
		}
		if err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) {
			return fmt.Errorf("reading metadata of topic %s: %w", topic, sec.Explain(at, err))
		}
		missing = append(missing, topic)
	}
	if len(missing) == 0 {
		return nil
	}
	if !s.opts.CreateTopics {
		return fmt.Errorf("kafka topic %s does not exist (create it, or pass --create)", missing[0])
	}
	ctrl, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("finding the controller: %w", sec.Explain(at, err))
	}
	ctrlAddr := net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port))
	d, err := sec.Dialer(0)
	if err != nil {
		return err
	}
	cc, err := d.DialContext(ctx, "tcp", ctrlAddr)
	if err != nil {
		return fmt.Errorf("dialing the controller: %w", sec.Explain(ctrlAddr, err))
	}
	defer cc.Close()
	var cfgs []kafka.TopicConfig
	for _, t := range missing {
		cfgs = append(cfgs, kafka.TopicConfig{Topic: t, NumPartitions: s.opts.Partitions, ReplicationFactor: -1})
	}
	if err := cc.CreateTopics(cfgs...); err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("kafka: creating topics %v: %w", missing, err)
	}
	return nil
}

// Write produces recs and waits for the acknowledgement of all in-sync
// replicas.
func (s *KafkaSink) Write(ctx context.Context, recs []Record) []Failure {
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		msgs[i] = kafka.Message{Topic: s.Topic(r.Table), Key: []byte(r.Key), Value: r.Value}
	}
	err := s.w.WriteMessages(ctx, msgs...)
	if err == nil {
		return nil
	}
	var fails []Failure
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) && len(werrs) == len(recs) {
		for i, e := range werrs {
			if e != nil {
				fails = append(fails, Failure{Index: i, Err: fmt.Errorf("kafka topic %s: %w", msgs[i].Topic, e)})
			}
		}
		return fails
	}
	err = s.opts.Security.Explain(strings.Join(s.opts.Brokers, ","), err)
	for i := range recs {
		fails = append(fails, Failure{Index: i, Err: err})
	}
	return fails
}

// Close releases the writer's connections. Write is synchronous, so nothing
// is buffered.
func (s *KafkaSink) Close() error {
	err := s.w.Close()
	s.transport.CloseIdleConnections()
	return err
}
