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

	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/internal/ctxwait"
	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/kafkax"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// Config configures a Sink. Fill it, call Validate, then New.
type Config struct {
	// Brokers are the Kafka bootstrap addresses ("host:port"). Required.
	Brokers []string
	// Security is how to connect to the brokers: TLS and SASL. Default:
	// plaintext.
	Security kafkax.Config
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
	// RotateSchedule closes an object, however few records it holds, at the
	// first wall-clock multiple of this interval (UTC, counted from the Unix
	// epoch) after its first record was read: Confluent's
	// rotate.schedule.interval.ms, so that a quiet topic's last records
	// land without waiting for FlushSize more. Default: 0 (off).
	RotateSchedule time.Duration
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
	// SessionTimeout is the consumer group session timeout: how long a
	// crashed instance holds its partitions. Default: 10s.
	SessionTimeout time.Duration
	// UnhealthyAfter is how long the sink may be out of its consumer group,
	// or fail to store objects, before Health reports it. Default: 60s.
	UnhealthyAfter time.Duration
	// Now returns the current time (tests). Default: time.Now.
	Now func() time.Time
	// InFlight is the number of objects per partition being stored at once;
	// their offsets are committed in order. Default: 16.
	InFlight int
}

// Validate fills in defaults and checks the configuration.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("no brokers: --brokers HOST:PORT[,HOST:PORT] is required")
	}
	if err := c.Security.Validate(); err != nil {
		return err
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
		c.Group = DefaultGroup
	}
	if c.FlushSize == 0 {
		c.FlushSize = DefaultFlushSize
	}
	if c.FlushSize < 0 {
		return fmt.Errorf("flush size %d: want a positive number of records", c.FlushSize)
	}
	if c.RotateInterval < 0 {
		return fmt.Errorf("rotate interval %s: want a positive duration or 0", c.RotateInterval)
	}
	if c.RotateSchedule < 0 || (c.RotateSchedule > 0 && c.RotateSchedule < MinRotateSchedule) {
		return fmt.Errorf("rotate schedule interval %s: want 0 (off) or at least %s", c.RotateSchedule, MinRotateSchedule)
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.SessionTimeout < MinSessionTimeout {
		return fmt.Errorf("session timeout %s: want at least %s (a partition's writes carry a lease of the session timeout less %s for clocks that disagree, and an S3 request needs %s of it)",
			c.SessionTimeout, MinSessionTimeout, leaseMargin, minLeaseLeft)
	}
	if c.UnhealthyAfter <= 0 {
		c.UnhealthyAfter = DefaultUnhealthyAfter
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.InFlight <= 0 {
		c.InFlight = DefaultInFlight
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Sink consumes topics as a consumer group and lands them in a bucket.
type Sink struct {
	cfg    Config
	bucket objstore.Conditional
	client *kafka.Client // heartbeats, log-start offsets, topic metadata
	dialer *kafka.Dialer // the consumer group and the partition readers
	health health
	// sleepUntil waits until t (tests simulate it). Default: a real wait.
	sleepUntil func(ctx context.Context, t time.Time) error
}

// health tracks what /healthz reports: whether the sink is a member of a
// generation of its group, and since when storing has been failing.
type health struct {
	mu           sync.Mutex
	now          func() time.Time
	inGeneration bool
	leftAt       time.Time // when the last generation ended (or the start)
	failingSince time.Time // first failed store since the last success; zero when fine
	lastErr      error
	connErr      error // a refused login or failed handshake since the last generation
}

func (h *health) generation(in bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inGeneration = in
	if in {
		h.connErr = nil
	}
	if !in {
		h.leftAt = h.now()
	}
}

// connFailed records a refused login or failed TLS handshake, which Health
// reports at once: retrying with the same configuration cannot mend it.
func (h *health) connFailed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.connErr = err
}

func (h *health) stored(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil:
		h.failingSince, h.lastErr = time.Time{}, nil
	case h.failingSince.IsZero():
		h.failingSince, h.lastErr = h.now(), err
	default:
		h.lastErr = err
	}
}

// Health reports nil while the sink is healthy, or what is wrong: the
// brokers refuse its login or TLS handshake (at once, a *kafkax.ConnError
// saying what to check), it has not been a member of a generation of its
// consumer group for longer than Config.UnhealthyAfter (it cannot join, or
// the brokers are gone), or storing objects has been failing for longer than
// that.
func (s *Sink) Health() error {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.connErr != nil && !h.inGeneration {
		return h.connErr
	}
	now := h.now()
	if !h.inGeneration && now.Sub(h.leftAt) > s.cfg.UnhealthyAfter {
		return fmt.Errorf("not a member of consumer group %s for %s", s.cfg.Group, now.Sub(h.leftAt).Round(time.Second))
	}
	if !h.failingSince.IsZero() && now.Sub(h.failingSince) > s.cfg.UnhealthyAfter {
		return fmt.Errorf("storing objects has failed for %s: %v", now.Sub(h.failingSince).Round(time.Second), h.lastErr)
	}
	return nil
}

// New returns a sink; it does no network I/O. The bucket's conditional
// requests fence the objects of a partition against every earlier owner
// (PROTOCOL.md); the file and S3 stores of pkg/objstore have them.
func New(cfg Config, bucket objstore.Conditional) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	transport, err := cfg.Security.Transport()
	if err != nil {
		return nil, err
	}
	dialer, err := cfg.Security.Dialer(10 * time.Second)
	if err != nil {
		return nil, err
	}
	now := cfg.Now()
	return &Sink{cfg: cfg, bucket: bucket, health: health{now: cfg.Now, leftAt: now},
		client:     &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 10 * time.Second, Transport: transport},
		dialer:     dialer,
		sleepUntil: func(ctx context.Context, t time.Time) error { return ctxwait.Sleep(ctx, time.Until(t)) },
	}, nil
}

// ResolveTopics returns the configured topics, or the existing topics that
// match the regex, sorted.
func (s *Sink) ResolveTopics(ctx context.Context) ([]string, error) {
	if s.cfg.TopicRegex == "" {
		return s.cfg.Topics, nil
	}
	re := regexp.MustCompile(s.cfg.TopicRegex) // checked by Validate
	md, err := s.client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", s.cfg.Security.Explain(strings.Join(s.cfg.Brokers, ","), err))
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

// Run consumes until ctx ends, then stores the partial objects, commits
// what is stored and returns nil. It returns an error only when it cannot
// start.
func (s *Sink) Run(ctx context.Context) error {
	topics, err := s.ResolveTopics(ctx)
	if err != nil {
		return err
	}
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                    s.cfg.Group,
		Brokers:               s.cfg.Brokers,
		Dialer:                s.dialer,
		Topics:                topics,
		StartOffset:           kafka.FirstOffset,
		WatchPartitionChanges: true,
		HeartbeatInterval:     min(time.Second, s.cfg.SessionTimeout/3),
		SessionTimeout:        s.cfg.SessionTimeout,
		RebalanceTimeout:      s.cfg.SessionTimeout,
		JoinGroupBackoff:      time.Second,
	})
	if err != nil {
		return fmt.Errorf("joining consumer group %s: %w", s.cfg.Group, err)
	}
	s.cfg.Logger.Info("consuming", "group", s.cfg.Group, "topics", topics)
	var wg sync.WaitGroup
	defer func() {
		wg.Wait() // partition workers store and commit before the group is left
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
			err = s.cfg.Security.Explain(strings.Join(s.cfg.Brokers, ","), err)
			if kafkax.IsConfigError(err) {
				s.health.connFailed(err)
				s.cfg.Logger.Error("consumer group: cannot connect, will retry", "err", err)
			} else {
				s.cfg.Logger.Warn("consumer group", "err", err)
			}
			if ctxwait.Sleep(ctx, time.Second) != nil {
				return nil
			}
			continue
		}
		s.cfg.Logger.Info("generation", "id", gen.ID, "assignments", assignmentString(gen.Assignments))
		s.health.generation(true)
		s.runGeneration(ctx, gen, &wg)
	}
}

// runGeneration starts the partition workers of a generation, and the
// membership that keeps it and gives their lease, which lasts until the last
// worker has returned.
func (s *Sink) runGeneration(ctx context.Context, gen *kafka.Generation, wg *sync.WaitGroup) {
	mctx, stopMembership := context.WithCancel(context.WithoutCancel(ctx))
	m := newMembership(s.client, generation{group: gen.GroupID, id: gen.ID, member: gen.MemberID}, s.cfg.SessionTimeout, s.cfg.Now)
	var workers sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.run(mctx)
	}()
	wg.Add(1)
	workers.Add(1)
	gen.Start(func(genCtx context.Context) {
		defer wg.Done()
		defer workers.Done()
		select {
		case <-genCtx.Done():
			// A rebalance, or the shutdown: the next generation (or the
			// exit) follows once every partition's worker has returned.
			s.cfg.Logger.Info("generation ended", "id", gen.ID)
		case <-ctx.Done(): // shutting down, maybe with no partition assigned
		}
		s.health.generation(false)
	})
	for topic, parts := range gen.Assignments {
		for _, p := range parts {
			wg.Add(1)
			workers.Add(1)
			gen.Start(func(genCtx context.Context) {
				defer wg.Done()
				defer workers.Done()
				l := &lander{s: s, topic: topic, partition: int32(p.ID),
					log: s.cfg.Logger.With("topic", topic, "partition", p.ID),
					io: partitionIO{
						fetch:  &kafkaFetcher{s: s, topic: topic, partition: p.ID},
						commit: genCommitter{gen: gen, topic: topic, partition: p.ID},
						lease:  m,
					}}
				defer l.io.fetch.close()
				l.run(ctx, genCtx, p.Offset)
			})
		}
	}
	go func() {
		workers.Wait()
		stopMembership()
	}()
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

func (s *Sink) newBatch() *batch {
	return &batch{flushSize: s.cfg.FlushSize, rotate: s.cfg.RotateInterval, schedule: s.cfg.RotateSchedule}
}

// retryPolicy is the retry of a store or Kafka request: 100ms doubling to
// 5s, with jitter, until it succeeds or its context ends; each retry is
// logged.
func (s *Sink) retryPolicy(what string, log *slog.Logger) retry.Policy {
	return retry.Policy{Notify: func(err error, attempts int, wait time.Duration) {
		log.Warn(what+", will retry", "err", err, "attempt", attempts, "wait", wait)
	}}
}

// kafkaFetcher reads a partition with a kafka.Reader.
type kafkaFetcher struct {
	s         *Sink
	topic     string
	partition int
	r         *kafka.Reader
}

func (f *kafkaFetcher) logStart(ctx context.Context) (int64, error) {
	resp, err := f.s.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{f.topic: {kafka.FirstOffsetOf(f.partition)}},
	})
	if err != nil {
		return 0, fmt.Errorf("listing the offsets of %s/%d: %w", f.topic, f.partition, err)
	}
	for _, po := range resp.Topics[f.topic] {
		if po.Partition == f.partition {
			if po.Error != nil {
				return 0, fmt.Errorf("listing the offsets of %s/%d: %w", f.topic, f.partition, po.Error)
			}
			return po.FirstOffset, nil
		}
	}
	return 0, fmt.Errorf("listing the offsets of %s/%d: partition missing from the answer", f.topic, f.partition)
}

func (f *kafkaFetcher) fetch(ctx context.Context, from int64) (record, error) {
	if f.r == nil {
		f.r = kafka.NewReader(kafka.ReaderConfig{
			Brokers:   f.s.cfg.Brokers,
			Dialer:    f.s.dialer,
			Topic:     f.topic,
			Partition: f.partition,
			MinBytes:  1,
			MaxBytes:  16 << 20,
			MaxWait:   250 * time.Millisecond,
		})
		if err := f.r.SetOffset(from); err != nil {
			return record{}, fmt.Errorf("setting offset %d: %w", from, err)
		}
	}
	msg, err := f.r.FetchMessage(ctx)
	if err != nil {
		return record{}, err
	}
	return record{offset: msg.Offset, time: msg.Time, value: msg.Value, hwm: msg.HighWaterMark}, nil
}

func (f *kafkaFetcher) close() error {
	if f.r == nil {
		return nil
	}
	return f.r.Close()
}

// genCommitter commits a partition's offsets in a kafka-go generation.
type genCommitter struct {
	gen       *kafka.Generation
	topic     string
	partition int
}

// commit commits next, retrying transient errors a few times; an error
// saying the generation is over is returned at once.
func (c genCommitter) commit(next int64) error {
	return retry.Do(context.Background(), retry.Policy{MaxAttempts: 5}, func(context.Context) error {
		err := c.gen.CommitOffsets(map[string]map[int]int64{c.topic: {c.partition: next}})
		if err != nil && isGenerationGone(err) {
			return retry.Permanent(err)
		}
		return err
	})
}

func isGenerationGone(err error) bool {
	return errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.IllegalGeneration) ||
		errors.Is(err, kafka.UnknownMemberId) || errors.Is(err, kafka.ErrGenerationEnded)
}
