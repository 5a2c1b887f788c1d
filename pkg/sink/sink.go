package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// Config configures a Sink. Fill it, call Validate, then New.
type Config struct {
	// Brokers are the Kafka bootstrap addresses ("host:port"). Required.
	Brokers []string
	// Topics to land. Either Topics or TopicRegex is required.
	Topics []string
	// TopicRegex selects the topics to land by name (resolved at start).
	TopicRegex string
	// Group is the consumer group. Default: "pinpipe-s3sink".
	Group string
	// FlushSize is the number of records per object. Default: 1 (the original's flush.size).
	FlushSize int
	// RotateInterval closes an object when a record's timestamp is at least
	// this far past the object's first record. Default: 0 (off).
	RotateInterval time.Duration
	// Gzip compresses objects (".json.gz"). Default: false.
	Gzip bool
	// Prefix is prepended to every object key, e.g. "topics". Default: "" (the
	// output URL names the topics directory itself).
	Prefix string
	// Logger receives progress and retried errors. Default: silent.
	Logger *slog.Logger
	// Metrics, when set, receives the sink's counters.
	Metrics *Metrics
	// ShutdownTimeout bounds the final flush after the context ends. Default: 30s.
	ShutdownTimeout time.Duration
}

// Validate fills in defaults and checks the configuration.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("no brokers: --brokers HOST:PORT[,HOST:PORT] is required")
	}
	if len(c.Topics) == 0 && c.TopicRegex == "" {
		return errors.New("no topics: give --prefix P (topics P.pin, P.geo, P.user), --topics or --topic-regex")
	}
	if c.TopicRegex != "" {
		if _, err := regexp.Compile(c.TopicRegex); err != nil {
			return fmt.Errorf("topic regex %q: %w", c.TopicRegex, err)
		}
	}
	if c.Group == "" {
		c.Group = "pinpipe-s3sink"
	}
	if c.FlushSize == 0 {
		c.FlushSize = 1
	}
	if c.FlushSize < 0 {
		return fmt.Errorf("flush size %d: want a positive number of records", c.FlushSize)
	}
	if c.RotateInterval < 0 {
		return fmt.Errorf("rotate interval %s: want a positive duration or 0", c.RotateInterval)
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Sink consumes topics as a consumer group and lands them in a bucket.
type Sink struct {
	cfg    Config
	bucket objstore.Bucket
}

// New returns a sink; it does no network I/O.
func New(cfg Config, bucket objstore.Bucket) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Sink{cfg: cfg, bucket: bucket}, nil
}

// ResolveTopics returns the configured topics, or the existing topics that
// match the regex, sorted.
func (s *Sink) ResolveTopics(ctx context.Context) ([]string, error) {
	if s.cfg.TopicRegex == "" {
		return s.cfg.Topics, nil
	}
	re := regexp.MustCompile(s.cfg.TopicRegex) // checked by Validate
	client := &kafka.Client{Addr: kafka.TCP(s.cfg.Brokers...), Timeout: 10 * time.Second}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil, fmt.Errorf("listing topics on %s: %w", strings.Join(s.cfg.Brokers, ","), err)
	}
	var topics []string
	for _, t := range md.Topics {
		if re.MatchString(t.Name) {
			topics = append(topics, t.Name)
		}
	}
	if len(topics) == 0 {
		return nil, fmt.Errorf("no topic on %s matches %q", strings.Join(s.cfg.Brokers, ","), s.cfg.TopicRegex)
	}
	slices.Sort(topics)
	return topics, nil
}

// Run consumes until ctx ends, then flushes what it holds, commits and
// returns nil. It returns an error only when it cannot start.
func (s *Sink) Run(ctx context.Context) error {
	topics, err := s.ResolveTopics(ctx)
	if err != nil {
		return err
	}
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                    s.cfg.Group,
		Brokers:               s.cfg.Brokers,
		Topics:                topics,
		StartOffset:           kafka.FirstOffset,
		WatchPartitionChanges: true,
		HeartbeatInterval:     time.Second,
		SessionTimeout:        10 * time.Second,
		RebalanceTimeout:      10 * time.Second,
		JoinGroupBackoff:      time.Second,
	})
	if err != nil {
		return fmt.Errorf("joining consumer group %s: %w", s.cfg.Group, err)
	}
	s.cfg.Logger.Info("consuming", "group", s.cfg.Group, "topics", topics)
	var wg sync.WaitGroup
	defer func() {
		wg.Wait() // partition workers flush and commit before the group is left
		cg.Close()
	}()
	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, kafka.ErrGroupClosed) {
				return nil
			}
			s.cfg.Logger.Warn("consumer group", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		s.cfg.Logger.Info("generation", "id", gen.ID, "assignments", assignmentString(gen.Assignments))
		for topic, parts := range gen.Assignments {
			for _, p := range parts {
				wg.Add(1)
				gen.Start(func(genCtx context.Context) {
					defer wg.Done()
					s.consume(ctx, genCtx, gen, topic, p.ID, p.Offset)
				})
			}
		}
	}
}

func assignmentString(a map[string][]kafka.PartitionAssignment) string {
	var parts []string
	for topic, ps := range a {
		for _, p := range ps {
			parts = append(parts, fmt.Sprintf("%s/%d@%d", topic, p.ID, p.Offset))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// consume lands one partition for the life of one generation. When the
// generation ends (a rebalance), records not yet stored are dropped: the next
// owner starts again from the committed offset and writes the same keys. When
// runCtx ends (shutdown), the partial object is stored and committed.
func (s *Sink) consume(runCtx, genCtx context.Context, gen *kafka.Generation, topic string, partition int, offset int64) {
	log := s.cfg.Logger.With("topic", topic, "partition", partition)
	fetchCtx, cancel := context.WithCancel(runCtx)
	defer cancel()
	stop := context.AfterFunc(genCtx, cancel)
	defer stop()

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   s.cfg.Brokers,
		Topic:     topic,
		Partition: partition,
		MinBytes:  1,
		MaxBytes:  16 << 20,
		MaxWait:   250 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(offset); err != nil {
		log.Error("setting offset", "offset", offset, "err", err)
		return
	}
	b := &batch{flushSize: s.cfg.FlushSize, rotate: s.cfg.RotateInterval}
	for {
		msg, err := r.FetchMessage(fetchCtx)
		if err != nil {
			if fetchCtx.Err() != nil {
				break
			}
			log.Warn("fetching", "err", err)
			if sleep(fetchCtx, time.Second) != nil {
				break
			}
			continue
		}
		if b.full(msg.Time) {
			if !s.flush(fetchCtx, gen, topic, partition, b) {
				break
			}
		}
		b.add(msg.Offset, msg.Time, msg.Value)
		s.cfg.Metrics.observe(topic, partition, msg.HighWaterMark-msg.Offset-1)
		if b.n >= b.flushSize {
			if !s.flush(fetchCtx, gen, topic, partition, b) {
				break
			}
		}
	}
	if runCtx.Err() != nil && b.n > 0 {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(runCtx), s.cfg.ShutdownTimeout)
		defer cancel()
		if s.flush(ctx, gen, topic, partition, b) {
			log.Info("flushed on shutdown")
		}
	}
}

// flush stores the batch's object, then commits the offset after it. It
// retries both until ctx ends, and reports whether the batch was stored and
// committed. The commit is synchronous: at most one stored object per
// partition is ever uncommitted, and its key is the committed offset, which is
// where the next owner starts writing.
func (s *Sink) flush(ctx context.Context, gen *kafka.Generation, topic string, partition int, b *batch) bool {
	log := s.cfg.Logger.With("topic", topic, "partition", partition)
	key := ObjectKey(topic, partition, b.start, s.cfg.Gzip)
	if s.cfg.Prefix != "" {
		key = objstore.Join(s.cfg.Prefix, key)
	}
	body, err := b.body(s.cfg.Gzip)
	if err != nil {
		log.Error("compressing", "key", key, "err", err)
		return false
	}
	start := time.Now()
	_, err = backoff.Retry(ctx, func() (struct{}, error) {
		err := s.bucket.Put(ctx, key, strings.NewReader(string(body)))
		if err != nil {
			log.Warn("storing, will retry", "key", key, "err", err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(newBackoff()), backoff.WithMaxElapsedTime(0))
	if err != nil {
		return false
	}
	_, err = backoff.Retry(ctx, func() (struct{}, error) {
		err := gen.CommitOffsets(map[string]map[int]int64{topic: {partition: b.next}})
		if err != nil {
			if isGenerationGone(err) {
				return struct{}{}, backoff.Permanent(err)
			}
			log.Warn("committing, will retry", "offset", b.next, "err", err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(newBackoff()), backoff.WithMaxElapsedTime(0))
	if err != nil {
		log.Info("not committed; the next owner rewrites the object", "key", key, "err", err)
		return false
	}
	s.cfg.Metrics.flushed(topic, b.n, b.invalid, len(body), time.Since(start))
	b.reset()
	return true
}

func isGenerationGone(err error) bool {
	return errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.IllegalGeneration) ||
		errors.Is(err, kafka.UnknownMemberId) || errors.Is(err, kafka.ErrGenerationEnded)
}

func newBackoff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = 5 * time.Second
	return b
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
