package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// The read path. Config.Concurrency readers fetch objects (I/O) and cut them
// into blocks of whole lines; Config.Workers cleaners clean the blocks, so
// every core cleans even when the objects are few and large. A reader waits
// until every block of its object is cleaned and then commits the object's
// rows, rejected lines and counts at once: an object read again after a
// failure is never counted twice.

// blockSize is the size of the buffers objects are read into. A block holds
// the whole lines of one buffer; a longer line grows its buffer.
const blockSize = 256 << 10

// state is what the readers share: the de-duplicated tables, the rejected
// lines and the counts.
type state struct {
	pins  *dedup[clean.Pin]
	geos  *dedup[clean.Geo]
	users *dedup[clean.User]

	mu       sync.Mutex // guards the fields below
	rejected []parquetio.Rejected
	lines    map[clean.Table]int64
	objLines map[int32]int64 // lines of each object read, by id
	// quality is the sum of the committed blocks' counts; complete after
	// readAll.
	quality clean.Quality
}

// cleanTables are the rows of the objects read, one per ind, by bucket then ind.
type cleanTables struct {
	pins  tableRows[clean.Pin]
	geos  tableRows[clean.Geo]
	users tableRows[clean.User]
}

// finish sorts the tables by bucket, then ind (moving the rows of each with
// workers goroutines), fills duplicates into the quality report and sorts the
// rejected lines by (table, source, line). keys are the objects' keys, by id.
func (st *state) finish(workers int, keys []string) cleanTables {
	var t cleanTables
	var dups [3]int64
	nb := tables.StateBuckets
	bucket := tables.CleanDef(clean.TablePin).BucketFunc()
	var wg sync.WaitGroup
	wg.Go(func() {
		rows, at, bounds, d := st.pins.sorted(workers, bucket, nb)
		t.pins, dups[0] = newRows(rows, at, bounds, keys), d
	})
	wg.Go(func() {
		rows, at, bounds, d := st.geos.sorted(workers, bucket, nb)
		t.geos, dups[1] = newRows(rows, at, bounds, keys), d
	})
	wg.Go(func() {
		rows, at, bounds, d := st.users.sorted(workers, bucket, nb)
		t.users, dups[2] = newRows(rows, at, bounds, keys), d
	})
	wg.Go(func() {
		slices.SortFunc(st.rejected, func(a, b parquetio.Rejected) int {
			if c := strings.Compare(a.Table, b.Table); c != 0 {
				return c
			}
			if c := strings.Compare(a.Source, b.Source); c != 0 {
				return c
			}
			return int(min(max(a.Line-b.Line, -1), 1))
		})
	})
	wg.Wait()
	for i, tb := range clean.Tables {
		st.quality.Table(tb).Duplicates = dups[i]
	}
	st.quality.Normalize()
	return t
}

// block is a run of whole lines of one attempt at reading an object.
type block struct {
	att   *attempt
	k0    int64 // line number (0-based) of its first line in the object
	lines int   // number of lines
	data  []byte
	buf   *[]byte // the pooled buffer data is in
	arena bool    // clean the block's rows into an arena (clean.Cleaner.SetArena)
}

// attempt is one reading of an object from its start.
type attempt struct {
	obj   object
	wg    sync.WaitGroup // blocks sent and not yet cleaned
	mu    sync.Mutex
	parts []*part
}

// part is what cleaning one block gave.
type part struct {
	pins  []clean.Pin
	geos  []clean.Geo
	users []clean.User
	ks    []int64 // line number of each row
	rej   []parquetio.Rejected
	q     clean.Quality
}

// listAhead is the number of listed objects waiting for a reader.
const listAhead = 1 << 14

// readAll lists and reads every object: the objects are read as they are
// listed (l), cfg.Concurrency at the same time, and cfg.Workers goroutines
// clean their blocks.
func readAll(ctx context.Context, cfg Config, in objstore.Bucket, l *listing) (*state, error) {
	st := &state{
		pins:     newDedup(func(p *clean.Pin) int64 { return p.Ind }, l.key),
		geos:     newDedup(func(g *clean.Geo) int64 { return g.Ind }, l.key),
		users:    newDedup(func(u *clean.User) int64 { return u.Ind }, l.key),
		lines:    make(map[clean.Table]int64, 3),
		objLines: map[int32]int64{},
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	bufs := &sync.Pool{New: func() any { b := make([]byte, blockSize); return &b }}
	parts := &sync.Pool{New: func() any { return new(part) }}
	blocks := make(chan *block, 2*cfg.Workers)
	var cleaners sync.WaitGroup
	for range cfg.Workers {
		cleaners.Go(func() {
			for b := range blocks {
				b.clean(bufs, parts)
			}
		})
	}

	// The listing runs ahead of the readers (an object waiting here is a
	// hundred bytes), so that they never wait for the next page.
	jobs := make(chan object, listAhead)
	go func() {
		if err := l.run(ctx, cfg, in, jobs); err != nil {
			cancel(err)
		}
		close(jobs)
	}()
	streams := make(chan struct{}, 2*cfg.Workers)
	var readers sync.WaitGroup
	for range cfg.Concurrency {
		r := &reader{cfg: cfg, in: in, st: st, blocks: blocks, bufs: bufs, parts: parts, streams: streams}
		readers.Go(func() {
			for obj := range jobs {
				if err := r.object(ctx, obj); err != nil {
					cancel(err)
					break
				}
			}
			for range jobs { // a failed run: let the listing end
			}
		})
	}
	readers.Wait()
	close(blocks)
	cleaners.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// reader reads one object at a time, with buffers reused from object to
// object.
type reader struct {
	cfg    Config
	in     objstore.Bucket
	st     *state
	blocks chan<- *block
	bufs   *sync.Pool // of *[]byte
	parts  *sync.Pool // of *part
	// streams bounds the objects of more than one block read at the same
	// time: their rows are held until the whole object is cleaned, so
	// without it every reader would hold most of an object.
	streams   chan struct{}
	streaming bool // read took a place in streams for the current attempt
	zr        *gzip.Reader
}

// object reads obj, retrying from its start after a failure (waits from 100ms
// doubling to 6.4s, jittered), and commits its rows once it has been read to
// its end and all its blocks are cleaned.
func (r *reader) object(ctx context.Context, obj object) error {
	var bo *retry.Retrier // made at the first failure: most objects need none
	for {
		att := &attempt{obj: obj}
		lines, err := r.read(ctx, att)
		att.wg.Wait() // the blocks sent before an error are cleaned, then dropped
		if err == nil {
			r.st.commit(att, lines, r.cfg.Progress)
		}
		for _, p := range att.parts {
			p.reset()
			r.parts.Put(p)
		}
		if r.streaming {
			<-r.streams
			r.streaming = false
		}
		if err == nil {
			return nil
		}
		url := r.in.URL(obj.key)
		if bo == nil {
			bo = retry.New(retry.Policy{Initial: 100 * time.Millisecond, Max: 6400 * time.Millisecond, MaxAttempts: r.cfg.ObjectAttempts,
				Notify: func(err error, attempt int, _ time.Duration) {
					r.cfg.Logger.Warn("reading an object again from its start", "object", url, "attempt", attempt, "err", err)
				}})
		}
		if !retryable(err) {
			err = retry.Permanent(err)
		}
		if err := bo.Wait(ctx, err); err != nil {
			return fmt.Errorf("reading object %s: %w", url, err)
		}
	}
}

func retryable(err error) bool {
	return !errors.Is(err, objstore.ErrNotFound) && !errors.Is(err, gzip.ErrHeader) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// getBuf returns a buffer of at least size bytes: a pooled one of blockSize
// bytes, or a new one for a small object (such buffers are not pooled:
// small objects would otherwise each take a whole block).
func (r *reader) getBuf(size int) *[]byte {
	if size < blockSize/8 {
		b := make([]byte, size)
		return &b
	}
	b := r.bufs.Get().(*[]byte)
	if len(*b) < size {
		*b = make([]byte, size)
	}
	return b
}

// putBuf returns a buffer of getBuf to the pool.
func putBuf(bufs *sync.Pool, b *[]byte) {
	if len(*b) == blockSize {
		bufs.Put(b)
	}
}

// read streams the object of att into blocks sent to the cleaners and
// returns the number of lines.
func (r *reader) read(ctx context.Context, att *attempt) (int64, error) {
	obj := att.obj
	rc, err := r.in.Get(ctx, obj.key)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	var src io.Reader = rc
	if obj.gz {
		if r.zr == nil {
			r.zr, err = gzip.NewReader(rc)
		} else {
			err = r.zr.Reset(rc)
		}
		if errors.Is(err, io.EOF) { // an empty file: no lines
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("gzip: %w", err)
		}
		src = r.zr
	}

	size := blockSize
	if !obj.gz && obj.size >= 0 && obj.size < blockSize {
		size = int(obj.size) + 1 // room to see the end of the object
	}
	buf := r.getBuf(size)
	defer func() { putBuf(r.bufs, buf) }()
	var k int64 // lines sent
	n := 0      // bytes in *buf
	for eof := false; !eof; {
		for n < len(*buf) {
			m, err := src.Read((*buf)[n:])
			n += m
			if errors.Is(err, io.EOF) {
				eof = true
				break
			}
			if err != nil {
				return k, err
			}
		}
		if err := context.Cause(ctx); err != nil {
			return k, err
		}
		if !eof && !r.streaming {
			select {
			case r.streams <- struct{}{}:
				r.streaming = true
			case <-ctx.Done():
				return k, context.Cause(ctx)
			}
		}
		cut := n
		if !eof {
			cut = bytes.LastIndexByte((*buf)[:n], '\n') + 1
			if cut == 0 { // one line fills the buffer: grow it
				grown := make([]byte, 2*len(*buf))
				copy(grown, (*buf)[:n])
				*buf = grown
				continue
			}
		}
		if cut == 0 {
			break
		}
		lines := bytes.Count((*buf)[:cut], []byte{'\n'})
		if (*buf)[cut-1] != '\n' { // the last line, without '\n'
			lines++
		}
		b := &block{att: att, k0: k, lines: lines, data: (*buf)[:cut], buf: buf, arena: !r.st.mostlyDuplicates(obj.table)}
		if eof { // nothing left: the deferred putBuf has nothing to return
			buf = &[]byte{}
		} else {
			next := r.getBuf(max(blockSize, 2*(n-cut)))
			copy(*next, (*buf)[cut:n])
			buf, n = next, n-cut
		}
		k += int64(lines)
		att.wg.Add(1)
		select {
		case r.blocks <- b:
		case <-ctx.Done():
			att.wg.Done()
			return k, context.Cause(ctx)
		}
	}
	if obj.gz {
		if err := r.zr.Close(); err != nil {
			return k, fmt.Errorf("gzip: %w", err)
		}
	}
	return k, nil
}

// arenaChunk is the largest chunk the strings of clean rows are carved from.
//
// An arena saves an allocation per row and much of the collector's work, but
// a chunk stays in memory while any row cleaned into it is kept: the strings
// of rows later dropped as duplicates stay with it. So blocks are cleaned into
// arenas only while most of the table's rows are kept (dedup.mostlyDuplicates):
// the strings held for dropped rows then stay within about those of the rows
// kept, however duplicated the rest of the input is.
const arenaChunk = 64 << 10

// clean cleans the lines of b with a cleaner of its own (so that the counts of
// a failed attempt can be dropped) and adds the result to its attempt.
func (b *block) clean(bufs, parts *sync.Pool) {
	obj := b.att.obj
	c := clean.New()
	if b.arena {
		// The strings of a row are never longer than its line, so a small
		// block (a one-record object) gets a chunk no larger than itself.
		c.SetArena(min(arenaChunk, len(b.data)))
	}
	p := parts.Get().(*part)
	p.ks = slices.Grow(p.ks, b.lines)
	switch obj.table {
	case clean.TablePin:
		p.pins = slices.Grow(p.pins, b.lines)
	case clean.TableGeo:
		p.geos = slices.Grow(p.geos, b.lines)
	case clean.TableUser:
		p.users = slices.Grow(p.users, b.lines)
	}
	data, k := b.data, b.k0
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		p.line(c, obj, k, line)
		k++
	}
	p.q = c.Quality()
	putBuf(bufs, b.buf)
	b.att.mu.Lock()
	b.att.parts = append(b.att.parts, p)
	b.att.mu.Unlock()
	b.att.wg.Done()
}

// reset empties p for reuse (the dedup copied its rows), dropping the strings
// it refers to.
func (p *part) reset() {
	clear(p.pins)
	clear(p.geos)
	clear(p.users)
	clear(p.rej)
	p.pins, p.geos, p.users, p.ks, p.rej = p.pins[:0], p.geos[:0], p.users[:0], p.ks[:0], p.rej[:0]
	p.q = clean.Quality{}
}

// line cleans line k of obj into p.
func (p *part) line(c *clean.Cleaner, obj object, k int64, line []byte) {
	var err error
	switch obj.table {
	case clean.TablePin:
		var r clean.Pin
		if r, err = c.Pin(line); err == nil {
			p.pins = append(p.pins, r)
		}
	case clean.TableGeo:
		var r clean.Geo
		if r, err = c.Geo(line); err == nil {
			p.geos = append(p.geos, r)
		}
	case clean.TableUser:
		var r clean.User
		if r, err = c.User(line); err == nil {
			p.users = append(p.users, r)
		}
	}
	if err == nil {
		p.ks = append(p.ks, k)
		return
	}
	if errors.Is(err, clean.ErrBlank) {
		return
	}
	rej := parquetio.NewRejected(clean.NewRejected(obj.table, err, line))
	rej.Source, rej.Line = obj.key, k+1
	p.rej = append(p.rej, rej)
}

// mostlyDuplicates reports whether fewer than half of the rows of table read
// so far were kept.
func (st *state) mostlyDuplicates(t clean.Table) bool {
	switch t {
	case clean.TablePin:
		return st.pins.mostlyDuplicates()
	case clean.TableGeo:
		return st.geos.mostlyDuplicates()
	}
	return st.users.mostlyDuplicates()
}

// commit adds the rows, rejected lines and counts of a fully read object.
func (st *state) commit(att *attempt, lines int64, progress *Progress) {
	obj := att.obj
	for _, p := range att.parts {
		switch obj.table {
		case clean.TablePin:
			st.pins.add(p.pins, p.ks, obj)
		case clean.TableGeo:
			st.geos.add(p.geos, p.ks, obj)
		case clean.TableUser:
			st.users.add(p.users, p.ks, obj)
		}
	}
	st.mu.Lock()
	for _, p := range att.parts {
		st.rejected = append(st.rejected, p.rej...)
		st.quality.Merge(p.q)
	}
	st.lines[obj.table] += lines
	st.objLines[obj.id] = lines
	st.mu.Unlock()
	progress.ObjectsDone.Add(1)
	progress.Lines.Add(lines)
	progress.Bytes.Add(obj.size)
}
