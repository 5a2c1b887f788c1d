package batch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

// state is what the workers share: the de-duplicated tables, the rejected
// lines and the counts. Workers add one whole object at a time, under mu, so
// an object read twice (after a failure) is never counted twice.
type state struct {
	mu       sync.Mutex
	pins     *dedup[clean.Pin]
	geos     *dedup[clean.Geo]
	users    *dedup[clean.User]
	rejected []parquetio.Rejected
	lines    map[clean.Table]int64
	// quality is the sum of the workers' cleaners, minus the lines of failed
	// attempts; complete after readAll.
	quality clean.Quality
}

// cleanTables are the final clean tables, sorted by ind.
type cleanTables struct {
	pins  []clean.Pin
	geos  []clean.Geo
	users []clean.User
}

// finish sorts the tables, fills duplicates and rows written into the quality
// report and sorts the rejected lines by (table, source, line).
func (st *state) finish() cleanTables {
	var t cleanTables
	var dups [3]int64
	t.pins, dups[0] = st.pins.sorted()
	t.geos, dups[1] = st.geos.sorted()
	t.users, dups[2] = st.users.sorted()
	written := [3]int64{int64(len(t.pins)), int64(len(t.geos)), int64(len(t.users))}
	for i, tb := range clean.Tables {
		q := st.quality.Table(tb)
		q.Duplicates = dups[i]
		q.RowsWritten = written[i]
	}
	normalizeQuality(&st.quality)
	slices.SortFunc(st.rejected, func(a, b parquetio.Rejected) int {
		if c := strings.Compare(a.Table, b.Table); c != 0 {
			return c
		}
		if c := strings.Compare(a.Source, b.Source); c != 0 {
			return c
		}
		return int(min(max(a.Line-b.Line, -1), 1))
	})
	return t
}

// readAll reads and cleans every object with cfg.Concurrency workers.
func readAll(ctx context.Context, cfg Config, in objstore.Bucket, objs []object) (*state, error) {
	st := &state{
		pins:  newDedup(func(p *clean.Pin) int64 { return p.Ind }),
		geos:  newDedup(func(g *clean.Geo) int64 { return g.Ind }),
		users: newDedup(func(u *clean.User) int64 { return u.Ind }),
		lines: make(map[clean.Table]int64, 3),
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	jobs := make(chan object)
	n := min(cfg.Concurrency, max(len(objs), 1))
	workers := make([]*worker, n)
	var wg sync.WaitGroup
	for i := range workers {
		w := newWorker(cfg, in, st)
		workers[i] = w
		wg.Go(func() {
			for obj := range jobs {
				if err := w.object(ctx, obj); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
feed:
	for _, obj := range objs {
		select {
		case jobs <- obj:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	for _, w := range workers {
		addQuality(&st.quality, w.c.Quality(), 1)
		addQuality(&st.quality, w.discarded, 1)
	}
	return st, nil
}

// worker reads and cleans one object at a time with its own cleaner and
// buffers, reused from object to object.
type worker struct {
	cfg  Config
	in   objstore.Bucket
	st   *state
	c    *clean.Cleaner
	br   *bufio.Reader
	zr   *gzip.Reader
	long []byte // a line longer than br's buffer

	// The rows of the current object, with their line numbers (0-based).
	pins  []clean.Pin
	geos  []clean.Geo
	users []clean.User
	ks    []int64
	rej   []parquetio.Rejected
	// discarded holds minus the quality counts of failed attempts.
	discarded clean.Quality
}

func newWorker(cfg Config, in objstore.Bucket, st *state) *worker {
	return &worker{cfg: cfg, in: in, st: st, c: clean.New(), br: bufio.NewReaderSize(nil, 256<<10)}
}

// object reads obj, retrying from its start after a failure, and adds its
// rows to the shared state once it has been read to its end.
func (w *worker) object(ctx context.Context, obj object) error {
	attempts := w.cfg.ObjectAttempts
	for attempt := 1; ; attempt++ {
		before := w.c.Quality()
		lines, err := w.read(ctx, obj)
		if err == nil {
			w.commit(obj, lines)
			return nil
		}
		// Undo the counts of the lines cleaned by the failed attempt.
		addQuality(&w.discarded, w.c.Quality(), -1)
		addQuality(&w.discarded, before, 1)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if attempt >= attempts || !retryable(err) {
			return fmt.Errorf("reading object %s (attempt %d of %d): %w", w.in.URL(obj.key), attempt, attempts, err)
		}
		w.cfg.Logger.Warn("reading an object again from its start", "object", w.in.URL(obj.key), "attempt", attempt, "err", err)
		delay := time.Duration(100<<min(attempt-1, 6)) * time.Millisecond
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

func retryable(err error) bool {
	return !errors.Is(err, objstore.ErrNotFound) && !errors.Is(err, gzip.ErrHeader) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// read streams obj line by line into the worker's buffers and returns the
// number of lines.
func (w *worker) read(ctx context.Context, obj object) (int64, error) {
	w.pins, w.geos, w.users, w.ks = w.pins[:0], w.geos[:0], w.users[:0], w.ks[:0]
	clear(w.rej)
	w.rej = w.rej[:0]

	rc, err := w.in.Get(ctx, obj.key)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	var r io.Reader = rc
	if obj.gz {
		if w.zr == nil {
			w.zr, err = gzip.NewReader(rc)
		} else {
			err = w.zr.Reset(rc)
		}
		if errors.Is(err, io.EOF) { // an empty file: no lines
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("gzip: %w", err)
		}
		r = w.zr
	}
	w.br.Reset(r)
	defer w.br.Reset(nil)

	var k int64
	for ; ; k++ {
		line, err := w.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			w.long = append(w.long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = w.br.ReadSlice('\n')
				w.long = append(w.long, line...)
			}
			line = w.long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return k, err
		}
		if len(line) == 0 { // io.EOF right after the last '\n'
			break
		}
		if line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		}
		w.line(obj, k, line)
		if err != nil { // io.EOF after a last line without '\n'
			k++
			break
		}
		if k&1023 == 1023 {
			if err := ctx.Err(); err != nil {
				return k, err
			}
		}
	}
	if obj.gz {
		if err := w.zr.Close(); err != nil {
			return k, fmt.Errorf("gzip: %w", err)
		}
	}
	return k, nil
}

// line cleans line k of obj into the worker's buffers.
func (w *worker) line(obj object, k int64, line []byte) {
	var err error
	switch obj.table {
	case clean.TablePin:
		var p clean.Pin
		if p, err = w.c.Pin(line); err == nil {
			w.pins = append(w.pins, p)
		}
	case clean.TableGeo:
		var g clean.Geo
		if g, err = w.c.Geo(line); err == nil {
			w.geos = append(w.geos, g)
		}
	case clean.TableUser:
		var u clean.User
		if u, err = w.c.User(line); err == nil {
			w.users = append(w.users, u)
		}
	}
	if err == nil {
		w.ks = append(w.ks, k)
		return
	}
	if errors.Is(err, clean.ErrBlank) {
		return
	}
	rej := parquetio.Rejected{
		Table:  string(obj.table),
		Reason: "error",
		Detail: err.Error(),
		Source: obj.key,
		Line:   k + 1,
		Raw:    string(line[:min(len(line), MaxRawBytes)]),
	}
	var re *clean.RecordError
	if errors.As(err, &re) {
		rej.Reason, rej.Detail = string(re.Reason), re.Detail
	}
	w.rej = append(w.rej, rej)
}

// commit adds the rows of a fully read object to the shared state.
func (w *worker) commit(obj object, lines int64) {
	st := w.st
	st.mu.Lock()
	defer st.mu.Unlock()
	switch obj.table {
	case clean.TablePin:
		for i := range w.pins {
			st.pins.add(&w.pins[i], pos{obj.partition, obj.seq, obj.start + w.ks[i]})
		}
	case clean.TableGeo:
		for i := range w.geos {
			st.geos.add(&w.geos[i], pos{obj.partition, obj.seq, obj.start + w.ks[i]})
		}
	case clean.TableUser:
		for i := range w.users {
			st.users.add(&w.users[i], pos{obj.partition, obj.seq, obj.start + w.ks[i]})
		}
	}
	st.rejected = append(st.rejected, w.rej...)
	st.lines[obj.table] += lines
	w.cfg.Progress.ObjectsDone.Add(1)
	w.cfg.Progress.Lines.Add(lines)
	w.cfg.Progress.Bytes.Add(obj.size)
}
