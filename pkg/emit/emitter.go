// Package emit replaces the original's posting emulators: it reads row i of
// the three source tables (data.md §1) from a Source and sends it, as one JSON
// record per table (data.md §2), to one or more Sinks: Kafka, the Kafka REST
// Proxy, Kinesis, or Kinesis through the original's API Gateway (data.md §4).
//
// The Emitter pipelines the work: while the sinks write one batch of rows,
// the next batch is read from the source. Every sink's Write is synchronous
// and returns only when the broker has acknowledged every record or the
// record has failed after retries, so a record counted as sent is stored.
package emit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/pinpipe/pinpipe/internal/ctxwait"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// Record is one JSON record of one table (data.md §2).
type Record struct {
	Table clean.Table // the records of a row are sent in the order of clean.Tables
	Key   string      // the row key (ind) as decimal text: Kafka key, Kinesis partition key
	Value []byte      // the JSON object
}

// Row is row number Num of the source, one record per table that has it.
type Row struct {
	Num     int
	Records []Record
}

// Source is where rows come from: the MySQL tables or the built-in sample.
type Source interface {
	// Len is the number of rows; row numbers run from 0 to Len()-1.
	Len() int
	// Fetch returns the rows with the given numbers, in the same order
	// (a number may repeat). It is called from one goroutine at a time.
	Fetch(ctx context.Context, nums []int) ([]Row, error)
}

// Failure is a record a Sink could not store after its retries.
type Failure struct {
	Index int   // index into the slice passed to Write
	Err   error // why
}

// Sink stores records in one target. Write is called concurrently and must
// return only once every record is either acknowledged by the target or has
// failed after retries; it reports the failed ones.
type Sink interface {
	Write(ctx context.Context, recs []Record) []Failure
	Close() error
}

// Target is a Sink with the name it is reported under (its URL, secrets
// removed).
type Target struct {
	Name string
	Sink Sink
}

// Order is the order in which rows are sent.
type Order int

const (
	// OrderRandom draws row numbers uniformly with replacement, as the
	// original emulator did; the same seed draws the same sequence.
	OrderRandom Order = iota
	// OrderSequential sends rows 0, 1, ..., Len()-1 and starts over.
	OrderSequential
)

// ParseOrder parses "random" or "sequential".
func ParseOrder(s string) (Order, error) {
	switch s {
	case "random":
		return OrderRandom, nil
	case "sequential":
		return OrderSequential, nil
	}
	return 0, fmt.Errorf("order %q: want random or sequential", s)
}

func (o Order) String() string {
	if o == OrderSequential {
		return "sequential"
	}
	return "random"
}

// ErrNotSent is wrapped by the error Run returns when some records were not
// stored after retries.
var ErrNotSent = errors.New("records not sent")

// Options configures an Emitter. The zero value is valid: random order,
// seed 0, as fast as possible, until the context is cancelled.
type Options struct {
	// Count is the number of rows to send (each row is one record per
	// table). Default: 0, until the context is cancelled.
	Count int
	// Rate is the number of rows per second. Default: 0, as fast as possible.
	Rate float64
	// Order of the rows. Default: OrderRandom.
	Order Order
	// Seed of the random order.
	Seed int64
	// BatchRows is the number of rows read and handed to the sinks at once
	// (at most; with a Rate, batches hold a tenth of a second of rows).
	// Default: 500.
	BatchRows int
	// InFlight is the number of batches each sink writes concurrently.
	// Default: 4.
	InFlight int
	// FlushTimeout bounds how long in-flight batches may still take after
	// the context is cancelled. Default: 30s.
	FlushTimeout time.Duration
	// Logger, nil for silence.
	Logger *slog.Logger
}

// Validate reports a bad option.
func (o Options) Validate() error {
	switch {
	case o.Count < 0:
		return fmt.Errorf("count %d: must be >= 0", o.Count)
	case o.Rate < 0:
		return fmt.Errorf("rate %g: must be >= 0", o.Rate)
	case o.BatchRows < 0:
		return fmt.Errorf("batch rows %d: must be >= 0", o.BatchRows)
	case o.InFlight < 0:
		return fmt.Errorf("in-flight %d: must be >= 0", o.InFlight)
	case o.Order != OrderRandom && o.Order != OrderSequential:
		return fmt.Errorf("order %d: unknown", o.Order)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.BatchRows == 0 {
		o.BatchRows = 500
	}
	if o.InFlight == 0 {
		o.InFlight = 4
	}
	if o.FlushTimeout == 0 {
		o.FlushTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// TableCounts counts records per table.
type TableCounts struct {
	Pin  int64 `json:"pin"`
	Geo  int64 `json:"geo"`
	User int64 `json:"user"`
}

// Total is the sum over the tables.
func (c TableCounts) Total() int64 { return c.Pin + c.Geo + c.User }

func (c *TableCounts) add(t clean.Table, n int64) {
	switch t {
	case clean.TablePin:
		c.Pin += n
	case clean.TableGeo:
		c.Geo += n
	case clean.TableUser:
		c.User += n
	}
}

// TargetStats are the counters of one target.
type TargetStats struct {
	Target string      `json:"target"`
	Sent   TableCounts `json:"sent"`
	Failed TableCounts `json:"failed"`
	// Errors are the distinct reasons of failures with their counts
	// ("reason (xN)"), at most 10.
	Errors []string `json:"errors,omitempty"`
}

// Stats is a snapshot of an Emitter's counters.
type Stats struct {
	Rows    int64         `json:"rows"` // rows read and handed to the targets
	Seconds float64       `json:"seconds"`
	Targets []TargetStats `json:"targets"`
}

// Sent is the number of records stored, over all targets.
func (s Stats) Sent() int64 {
	var n int64
	for _, t := range s.Targets {
		n += t.Sent.Total()
	}
	return n
}

// Failed is the number of records that failed, over all targets.
func (s Stats) Failed() int64 {
	var n int64
	for _, t := range s.Targets {
		n += t.Failed.Total()
	}
	return n
}

const maxReasons = 10

type targetState struct {
	stats   TargetStats
	reasons map[string]int64
}

// Emitter sends rows of a Source to Targets. Create it with New and call Run
// once; Stats may be called concurrently.
type Emitter struct {
	src     Source
	targets []Target
	opts    Options

	mu      sync.Mutex
	started time.Time
	ended   time.Time
	rows    int64
	state   []*targetState
}

// New returns an Emitter; it does no I/O.
func New(src Source, targets []Target, opts Options) (*Emitter, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if src == nil {
		return nil, errors.New("no source")
	}
	if len(targets) == 0 {
		return nil, errors.New("no target")
	}
	e := &Emitter{src: src, targets: targets, opts: opts.withDefaults()}
	for _, t := range targets {
		e.state = append(e.state, &targetState{stats: TargetStats{Target: t.Name}, reasons: map[string]int64{}})
	}
	return e, nil
}

// Stats returns a snapshot of the counters.
func (e *Emitter) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{Rows: e.rows}
	switch {
	case !e.ended.IsZero():
		s.Seconds = e.ended.Sub(e.started).Seconds()
	case !e.started.IsZero():
		s.Seconds = time.Since(e.started).Seconds()
	}
	for _, st := range e.state {
		ts := st.stats
		ts.Errors = nil
		for r, n := range st.reasons {
			ts.Errors = append(ts.Errors, fmt.Sprintf("%s (x%d)", r, n))
		}
		sort.Strings(ts.Errors)
		s.Targets = append(s.Targets, ts)
	}
	return s
}

// Run sends rows until Count rows are sent, the source fails, or ctx is
// cancelled. On cancellation it stops reading, lets the batches in flight
// finish (bounded by FlushTimeout) and returns nil unless records failed. It
// returns an error wrapping ErrNotSent when records failed after retries.
func (e *Emitter) Run(ctx context.Context) error {
	o := e.opts
	n := e.src.Len()
	if n <= 0 {
		return errors.New("source has no rows")
	}
	e.mu.Lock()
	e.started = time.Now()
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.ended = time.Now()
		e.mu.Unlock()
	}()

	// Writes outlive a cancellation of ctx by at most FlushTimeout, so what
	// was read is flushed, not dropped.
	writeCtx, cancelWrite := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWrite()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(o.FlushTimeout, cancelWrite)
		context.AfterFunc(writeCtx, func() { t.Stop() })
	})
	defer stop()

	var wg sync.WaitGroup
	chans := make([]chan []Record, len(e.targets))
	for i, t := range e.targets {
		chans[i] = make(chan []Record, o.InFlight)
		for range o.InFlight {
			wg.Go(func() {
				for recs := range chans[i] {
					fails := t.Sink.Write(writeCtx, recs)
					e.account(i, recs, fails)
				}
			})
		}
	}

	err := e.produce(ctx, chans)
	for _, c := range chans {
		close(c)
	}
	wg.Wait()
	if err != nil {
		return err
	}
	s := e.Stats()
	if f := s.Failed(); f > 0 {
		var reason string
		for _, t := range s.Targets {
			if len(t.Errors) > 0 {
				reason = t.Target + ": " + t.Errors[0]
				break
			}
		}
		return fmt.Errorf("%w: %d of %d records failed after retries; first reason: %s", ErrNotSent, f, f+s.Sent(), reason)
	}
	return nil
}

// paceOffset is when, after the start, the batch that follows done rows is
// due at rate rows per second.
func paceOffset(done int, rate float64) time.Duration {
	return time.Duration(float64(done) / rate * float64(time.Second))
}

// produce reads batches of rows and hands each to every target. It returns
// nil when Count rows were handed over or ctx is done.
func (e *Emitter) produce(ctx context.Context, chans []chan []Record) error {
	o := e.opts
	seq := newSequence(o.Order, o.Seed, e.src.Len(), o.Count)
	batch := o.BatchRows
	if o.Rate > 0 {
		batch = max(1, min(batch, int(o.Rate/10)))
	}
	start := time.Now()
	var done int
	for o.Count == 0 || done < o.Count {
		k := batch
		if o.Count > 0 {
			k = min(k, o.Count-done)
		}
		nums := seq.next(k)
		rows, err := e.src.Fetch(ctx, nums)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading rows: %w", err)
		}
		if o.Rate > 0 {
			if ctxwait.Sleep(ctx, time.Until(start.Add(paceOffset(done, o.Rate)))) != nil {
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		recs := make([]Record, 0, 3*len(rows))
		for _, r := range rows {
			recs = append(recs, r.Records...)
		}
		// Hand the batch to every target even if ctx is cancelled meanwhile:
		// the workers keep draining, so a batch is sent everywhere or nowhere.
		for _, c := range chans {
			c <- recs
		}
		done += k
		e.mu.Lock()
		e.rows += int64(k)
		e.mu.Unlock()
	}
	return nil
}

func (e *Emitter) account(target int, recs []Record, fails []Failure) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.state[target]
	for _, r := range recs {
		st.stats.Sent.add(r.Table, 1)
	}
	for _, f := range fails {
		r := recs[f.Index]
		st.stats.Sent.add(r.Table, -1)
		st.stats.Failed.add(r.Table, 1)
		reason := "unknown error"
		if f.Err != nil {
			reason = f.Err.Error()
		}
		if _, ok := st.reasons[reason]; ok || len(st.reasons) < maxReasons {
			st.reasons[reason]++
		}
	}
	if len(fails) > 0 {
		e.opts.Logger.Warn("records not sent", "target", e.targets[target].Name, "failed", len(fails), "reason", fails[0].Err)
	}
}

// maxPlanned bounds the row numbers drawn ahead with sample.Posts.
const maxPlanned = 1 << 24

// sequence yields the row numbers to send. A random sequence of a known
// count is sample.Posts(seed, rows, count), the draws the tests and the
// sample package predict; an unbounded one (count 0) draws from a PCG seeded
// with seed.
type sequence struct {
	order   Order
	rows    int
	pos     int
	planned []int
	rng     *rand.Rand
}

func newSequence(order Order, seed int64, rows, count int) *sequence {
	s := &sequence{order: order, rows: rows, rng: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
	if order == OrderRandom && count > 0 && count <= maxPlanned {
		s.planned = sample.Posts(seed, rows, count)
	}
	return s
}

func (s *sequence) next(k int) []int {
	if s.planned != nil {
		k = min(k, len(s.planned)-s.pos)
		nums := s.planned[s.pos : s.pos+k]
		s.pos += k
		return nums
	}
	nums := make([]int, k)
	for i := range nums {
		if s.order == OrderSequential {
			nums[i] = s.pos
			s.pos = (s.pos + 1) % s.rows
			continue
		}
		nums[i] = s.rng.IntN(s.rows)
	}
	return nums
}
