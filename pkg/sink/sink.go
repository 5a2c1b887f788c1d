package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/internal/ctxwait"
	"github.com/pinpipe/pinpipe/pkg/landing"
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
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
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
	bucket objstore.Bucket
	health health
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
}

func (h *health) generation(in bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inGeneration = in
	if !in {
		h.leftAt = h.now()
	}
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

// Health reports nil while the sink is healthy, or what is wrong: it has not
// been a member of a generation of its consumer group for longer than
// Config.UnhealthyAfter (it cannot join, or the brokers are gone), or storing
// objects has been failing for longer than that.
func (s *Sink) Health() error {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if !h.inGeneration && now.Sub(h.leftAt) > s.cfg.UnhealthyAfter {
		return fmt.Errorf("not a member of consumer group %s for %s", s.cfg.Group, now.Sub(h.leftAt).Round(time.Second))
	}
	if !h.failingSince.IsZero() && now.Sub(h.failingSince) > s.cfg.UnhealthyAfter {
		return fmt.Errorf("storing objects has failed for %s: %v", now.Sub(h.failingSince).Round(time.Second), h.lastErr)
	}
	return nil
}

// New returns a sink; it does no network I/O.
func New(cfg Config, bucket objstore.Bucket) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	now := cfg.Now()
	return &Sink{cfg: cfg, bucket: bucket, health: health{now: cfg.Now, leftAt: now}}, nil
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
			if ctxwait.Sleep(ctx, time.Second) != nil {
				return nil
			}
			continue
		}
		s.cfg.Logger.Info("generation", "id", gen.ID, "assignments", assignmentString(gen.Assignments))
		s.health.generation(true)
		wg.Add(1)
		gen.Start(func(genCtx context.Context) {
			defer wg.Done()
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

// consume lands one partition for the life of one generation. Objects are
// stored concurrently (up to Config.InFlight per partition) and their offsets
// committed in order, so the committed offset is always the end of a stored
// object. Cut points depend only on the records, so the objects a replay from
// the committed offset writes are the same keys with the same content.
//
// When the generation ends (a rebalance), objects not yet committed are
// abandoned: the next owner starts again from the committed offset and writes
// the same keys. When runCtx ends (shutdown), the partial object is stored
// too, and everything stored is committed.
func (s *Sink) consume(runCtx, genCtx context.Context, gen *kafka.Generation, topic string, partition int, offset int64) {
	log := s.cfg.Logger.With("topic", topic, "partition", partition)
	fetchCtx, cancelFetch := context.WithCancel(runCtx)
	defer cancelFetch()
	defer context.AfterFunc(genCtx, cancelFetch)()
	// Stores and commits outlive a shutdown (bounded by ShutdownTimeout) but
	// not a rebalance. At shutdown the generation ends too (kafka-go ends it
	// when the first worker returns), which must not cancel the final flushes.
	storeCtx, cancelStore := context.WithCancel(context.WithoutCancel(runCtx))
	defer cancelStore()
	defer context.AfterFunc(genCtx, func() {
		if runCtx.Err() == nil {
			cancelStore()
		}
	})()
	defer context.AfterFunc(runCtx, func() { time.AfterFunc(s.cfg.ShutdownTimeout, cancelStore) })()

	if offset >= 0 {
		if err := s.removeUncommitted(storeCtx, topic, partition, offset); err != nil {
			log.Error("removing uncommitted objects", "err", err)
			return
		}
	}
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
	p := s.newPipeline(storeCtx, gen, topic, partition)
	defer p.close()
	b := s.newBatch()
	for {
		msg, err := r.FetchMessage(fetchCtx)
		if err != nil {
			if fetchCtx.Err() != nil {
				break
			}
			log.Warn("fetching", "err", err)
			if ctxwait.Sleep(fetchCtx, time.Second) != nil {
				break
			}
			continue
		}
		if b.full(msg.Time) {
			p.submit(b)
			b = s.newBatch()
		}
		b.add(msg.Offset, msg.Time, msg.Value)
		s.cfg.Metrics.observe(topic, partition, msg.HighWaterMark-msg.Offset-1)
		if b.n >= b.flushSize {
			p.submit(b)
			b = s.newBatch()
		}
		if p.failed() {
			break
		}
	}
	if runCtx.Err() != nil && b.n > 0 {
		p.submit(b)
		log.Info("flushing on shutdown")
	}
}

func (s *Sink) newBatch() *batch {
	return &batch{flushSize: s.cfg.FlushSize, rotate: s.cfg.RotateInterval}
}

// removeUncommitted deletes the objects of a partition that start at or
// after the committed offset: a previous owner stored them but never
// committed them, and if it cut them differently (another flush size, a
// shutdown) they could overlap the objects this owner is about to write.
func (s *Sink) removeUncommitted(ctx context.Context, topic string, partition int, committed int64) error {
	dir := landing.PartitionDir(topic, int32(partition))
	list := objstore.Join(s.cfg.Prefix, dir) // the directory under Prefix, with its final "/"
	objs, err := s.bucket.List(ctx, list)
	if err != nil {
		return err
	}
	for _, o := range objs {
		k, err := landing.ParseKey(dir + strings.TrimPrefix(o.Key, list))
		if err != nil || k.Start < committed {
			continue
		}
		if err := s.bucket.Delete(ctx, o.Key); err != nil {
			return err
		}
		s.cfg.Logger.Info("removed uncommitted object", "key", o.Key)
	}
	return nil
}

// pipeline stores a partition's objects concurrently and commits their
// offsets in order.
type pipeline struct {
	s         *Sink
	ctx       context.Context
	gen       *kafka.Generation
	topic     string
	partition int
	queue     chan *upload
	done      chan struct{}
	err       atomic.Bool
}

type upload struct {
	b    *batch
	key  string
	size int
	err  chan error
}

func (s *Sink) newPipeline(ctx context.Context, gen *kafka.Generation, topic string, partition int) *pipeline {
	p := &pipeline{s: s, ctx: ctx, gen: gen, topic: topic, partition: partition,
		queue: make(chan *upload, s.cfg.InFlight), done: make(chan struct{})}
	go p.commitLoop()
	return p
}

// submit starts storing b; it blocks while InFlight objects are pending.
func (p *pipeline) submit(b *batch) {
	key := objstore.Join(p.s.cfg.Prefix, landing.Key{Topic: p.topic, Partition: int32(p.partition), Start: b.start, Gzip: p.s.cfg.Gzip}.String())
	u := &upload{b: b, key: key, err: make(chan error, 1)}
	select {
	case p.queue <- u:
	case <-p.ctx.Done():
		return
	}
	go func() { u.err <- p.store(u) }()
}

func (p *pipeline) failed() bool { return p.err.Load() }

// close waits until every submitted object is stored and committed, or abandoned.
func (p *pipeline) close() {
	close(p.queue)
	<-p.done
}

func (p *pipeline) store(u *upload) error {
	body, err := u.b.body(p.s.cfg.Gzip)
	if err != nil {
		return fmt.Errorf("compressing %s: %w", u.key, err)
	}
	u.size = len(body)
	_, err = backoff.Retry(p.ctx, func() (struct{}, error) {
		err := p.s.bucket.Put(p.ctx, u.key, bytes.NewReader(body))
		if err != nil && p.ctx.Err() == nil {
			p.s.cfg.Logger.Warn("storing, will retry", "key", u.key, "err", err)
			p.s.health.stored(err)
		} else if err == nil {
			p.s.health.stored(nil)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(newBackoff()), backoff.WithMaxElapsedTime(0))
	return err
}

// commitLoop waits for the objects in order and commits the offset after the
// last stored one: at once when nothing else is pending, else at most every
// 100ms, so a busy partition does not pay a commit per object.
func (p *pipeline) commitLoop() {
	defer close(p.done)
	var (
		pending    *upload // stored, not yet committed
		lastCommit time.Time
		start      = time.Now()
		abandoned  bool
	)
	commit := func() {
		if pending == nil || abandoned {
			return
		}
		if err := p.commit(pending.b.next); err != nil {
			p.s.cfg.Logger.Info("not committed; the next owner rewrites from the committed offset", "topic", p.topic, "partition", p.partition, "err", err)
			abandoned = true
			p.err.Store(true)
			return
		}
		lastCommit = time.Now()
		pending = nil
	}
	for u := range p.queue {
		if abandoned {
			<-u.err
			continue
		}
		if err := <-u.err; err != nil {
			abandoned = true
			p.err.Store(true)
			continue
		}
		p.s.cfg.Metrics.flushed(p.topic, u.b.n, u.b.invalid, u.size, time.Since(start))
		start = time.Now()
		pending = u
		if len(p.queue) == 0 || time.Since(lastCommit) > 100*time.Millisecond {
			commit()
		}
	}
	commit()
}

func (p *pipeline) commit(next int64) error {
	_, err := backoff.Retry(p.ctx, func() (struct{}, error) {
		err := p.gen.CommitOffsets(map[string]map[int]int64{p.topic: {p.partition: next}})
		if err != nil {
			if isGenerationGone(err) {
				return struct{}{}, backoff.Permanent(err)
			}
			p.s.cfg.Logger.Warn("committing, will retry", "topic", p.topic, "partition", p.partition, "offset", next, "err", err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(newBackoff()), backoff.WithMaxElapsedTime(0))
	return err
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
