package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/internal/ctxwait"
	"github.com/pinpipe/pinpipe/pkg/kafkax"
)

// ErrTopicNotFound is returned for a topic the cluster does not have.
var ErrTopicNotFound = errors.New("topic not found")

// KafkaOptions configures a Kafka producer.
type KafkaOptions struct {
	// Brokers are the bootstrap brokers, "host:port". Required.
	Brokers []string
	// Transport carries the connections (TLS and SASL are set on it).
	// Default: a plain-text transport of its own.
	Transport *kafka.Transport
	// Linger is how long a partition's batch waits for more records before
	// it is sent: concurrent requests share produce requests. Default: 1ms.
	Linger time.Duration
	// BatchSize is the most records per partition and produce request; a
	// full batch is sent at once. kafka-go allocates room for BatchSize
	// records with each batch, so a large value costs memory and GC time
	// when requests carry few records. Default: 256.
	BatchSize int
	// MaxAttempts is how often a batch is sent before its records fail.
	// Default: 3.
	MaxAttempts int
	// WriteTimeout bounds one produce request. Default: 10s.
	WriteTimeout time.Duration
	// MetadataTTL is how often the cluster's metadata (topics, partitions,
	// leaders) is read again: a topic created while the gateway runs is
	// found within it. It sets Transport.MetadataTTL. Default: 1s.
	MetadataTTL time.Duration
}

// Validate reports a bad option.
func (o KafkaOptions) Validate() error {
	if err := kafkax.CheckBrokers(o.Brokers); err != nil {
		return err
	}
	if o.Linger < 0 || o.BatchSize < 0 || o.MaxAttempts < 0 || o.WriteTimeout < 0 || o.MetadataTTL < 0 {
		return errors.New("kafka: negative option")
	}
	return nil
}

// Kafka produces records with acks=all and reports, per record, where it
// was stored or why not. Produce calls made at the same time share produce
// requests (one writer, batching per partition for Linger).
//
// kafka-go has no idempotent producer: a batch the broker stored but whose
// acknowledgement was lost is stored twice when retried (MaxAttempts), as
// with the Java producer of the REST Proxy without idempotence.
type Kafka struct {
	opts   KafkaOptions
	w      *kafka.Writer
	client *kafka.Client
}

// KafkaRecord is one record to produce. Partition -1 lets the key's murmur2
// hash choose (any partition without a key).
type KafkaRecord struct {
	Key, Value []byte
	Partition  int32
}

// KafkaResult is where a record was stored, or Err.
type KafkaResult struct {
	Partition int32
	Offset    int64
	Err       error
	want      int32
}

// NewKafka returns a producer; it does no I/O.
func NewKafka(opts KafkaOptions) (*Kafka, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Transport == nil {
		opts.Transport = &kafka.Transport{}
	}
	if opts.Linger == 0 {
		opts.Linger = time.Millisecond
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 256
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 3
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.MetadataTTL == 0 {
		opts.MetadataTTL = time.Second
	}
	opts.Transport.MetadataTTL = opts.MetadataTTL
	k := &Kafka{opts: opts}
	k.client = &kafka.Client{Addr: kafka.TCP(opts.Brokers...), Transport: opts.Transport, Timeout: opts.WriteTimeout}
	k.w = &kafka.Writer{
		Addr:            kafka.TCP(opts.Brokers...),
		Transport:       opts.Transport,
		Balancer:        balancer{},
		MaxAttempts:     opts.MaxAttempts,
		WriteBackoffMin: 50 * time.Millisecond,
		WriteBackoffMax: time.Second,
		BatchSize:       opts.BatchSize,
		BatchBytes:      16 << 20,
		BatchTimeout:    opts.Linger,
		WriteTimeout:    opts.WriteTimeout,
		ReadTimeout:     opts.WriteTimeout,
		RequiredAcks:    kafka.RequireAll,
		Completion:      complete,
	}
	return k, nil
}

// balancer writes a record to the partition it asks for, else chooses as
// the Java producer does (murmur2 of the key).
type balancer struct{ kafka.Murmur2Balancer }

func (b balancer) Balance(msg kafka.Message, partitions ...int) int {
	if r, ok := msg.WriterData.(*KafkaResult); ok && r.want >= 0 {
		return int(r.want)
	}
	return b.Murmur2Balancer.Balance(msg, partitions...)
}

// complete records the outcome of one batch in its records' results.
func complete(msgs []kafka.Message, err error) {
	for _, m := range msgs {
		r := m.WriterData.(*KafkaResult)
		r.Err = err
		if err == nil {
			r.Partition, r.Offset = int32(m.Partition), m.Offset
		}
	}
}

// Partitions returns the number of partitions of topic, from the
// transport's copy of the cluster's metadata (what the writer uses too). A
// topic not there is looked for again until the copy has been refreshed
// once (MetadataTTL), so that a topic created a moment ago is found; then it
// is ErrTopicNotFound.
func (k *Kafka) Partitions(ctx context.Context, topic string) (int, error) {
	deadline := time.Now().Add(k.opts.MetadataTTL + 100*time.Millisecond)
	for {
		n, err := k.cachedPartitions(ctx, topic)
		if !errors.Is(err, ErrTopicNotFound) || time.Now().After(deadline) {
			return n, err
		}
		if ctxwait.Sleep(ctx, 100*time.Millisecond) != nil {
			return 0, err
		}
	}
}

func (k *Kafka) cachedPartitions(ctx context.Context, topic string) (int, error) {
	res, err := k.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, fmt.Errorf("kafka: reading metadata of %s: %w", topic, err)
	}
	for _, t := range res.Topics {
		if t.Name != topic {
			continue
		}
		if errors.Is(t.Error, kafka.UnknownTopicOrPartition) || (t.Error == nil && len(t.Partitions) == 0) {
			break
		}
		if t.Error != nil {
			return 0, fmt.Errorf("kafka: metadata of %s: %w", topic, t.Error)
		}
		return len(t.Partitions), nil
	}
	return 0, fmt.Errorf("%w: %s", ErrTopicNotFound, topic)
}

// Produce writes recs to topic and returns when every record is stored
// (acknowledged by all in-sync replicas) or has failed, with one result per
// record. It is not cancelled by ctx once the records are handed over: a
// record is never left unreported while it may still be stored.
func (k *Kafka) Produce(ctx context.Context, topic string, recs []KafkaRecord) []KafkaResult {
	res := make([]KafkaResult, len(recs))
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		res[i].want = r.Partition
		res[i].Partition = -1
		msgs[i] = kafka.Message{Topic: topic, Key: r.Key, Value: r.Value, WriterData: &res[i]}
	}
	err := k.w.WriteMessages(context.WithoutCancel(ctx), msgs...)
	var werrs kafka.WriteErrors
	if err != nil && !errors.As(err, &werrs) {
		// Refused before anything was sent (no metadata, closed writer).
		for i := range res {
			res[i].Err = err
		}
	}
	return res
}

// Close waits for the produce requests in flight and closes the
// connections.
func (k *Kafka) Close() error {
	err := k.w.Close()
	k.opts.Transport.CloseIdleConnections()
	return err
}

// retriable reports whether a produce error may go away when the record is
// sent again: the broker's retriable error codes, the network, timeouts.
func retriable(err error) bool {
	var ke kafka.Error
	if errors.As(err, &ke) {
		return ke.Temporary()
	}
	if errors.Is(err, io.ErrClosedPipe) {
		return true // the gateway is stopping; another instance takes it
	}
	var mtl kafka.MessageTooLargeError
	return !errors.As(err, &mtl)
}
