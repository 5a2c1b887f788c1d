package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pinpipe/pinpipe/internal/ctxwait"
	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// permanentPause is how long a worker waits after a permanent error before
// giving its shard back to the coordinator.
const permanentPause = 5 * time.Second

// The two tables a shard's records go to: its stream's table (rows) and
// stream_quarantine (rejects). Each holds its own position of the shard.
const (
	mainTable = iota
	quarantineTable
)

// worker reads one shard and flushes it into its two tables (PROTOCOL.md).
type worker struct {
	j      *Job
	table  clean.Table
	stream string
	shard  string
	// pos are the tables' committed positions of the shard, as last known.
	pos   [2]Position
	start kinesisx.Position // where a shard with no committed position starts
	log   *slog.Logger

	b           batch     // records not yet covered by pos[mainTable]
	rej         batch     // a cleaner for the rejects of records pos[mainTable] covers but not pos[quarantineTable]
	first, last string    // sequence range of the buffered records
	n           int       // records buffered (blank, rejected and skipped ones too)
	opened      time.Time // when the first buffered record was read
	// lastCommit is when each table last got a flush: a table that gets no
	// file from a flush is not committed to again before IdleCommit (its
	// position lags, a restart reads those records again, and finds nothing
	// for it in them again).
	lastCommit [2]time.Time
	// want is each table's position once everything flushed is committed:
	// ahead of pos for a table left out of the last flushes (IdleCommit).
	want [2]Position
	// carry is the quality of the records of flushes that left the main
	// table out (no row for it, IdleCommit): it goes with the main table's
	// next flush, which covers those records. Dropped when the records are
	// read again (errReset).
	carry    clean.TableQuality
	inflight *inflight
}

// inflight is a flush submitted to the committers, whose outcomes are awaited
// before the next flush.
type inflight struct {
	flushes [2]*flush // nil for a table not submitted to
	cut     time.Time
	rows    [2]int64
	quality clean.TableQuality
}

// decided reports whether every flush of in has its outcome.
func (in *inflight) decided() bool {
	if in == nil {
		return false
	}
	for _, f := range in.flushes {
		if f != nil && len(f.done) == 0 {
			return false
		}
	}
	return true
}

// run reads the shard until it ends (true), or ctx is done, or it must be
// read again from the committed positions (false). What it has read is
// flushed before it returns.
func (w *worker) run(ctx context.Context) bool {
	if w.pos[mainTable].Closed && w.pos[quarantineTable].Closed {
		return true
	}
	o := w.j.o
	m := o.Metrics
	from := Earlier(w.pos[mainTable], w.pos[quarantineTable])
	if from.IsZero() && w.start.Type != kinesisx.TrimHorizon {
		// Commit where reading starts before a record is used: a restart
		// must not resolve LATEST again, past records this run read.
		t := w.start.Timestamp
		if w.start.Type == kinesisx.Latest {
			t = o.Now().UTC()
		}
		if err := w.commitStart(ctx, t); err != nil {
			if ctx.Err() == nil && !errors.Is(err, errReset) {
				w.log.Error("committing the start position, will restart the shard", "err", err)
				_ = ctxwait.Sleep(ctx, permanentPause)
			}
			return false
		}
		from = Earlier(w.pos[mainTable], w.pos[quarantineTable])
	}
	r, err := kinesisx.NewShardReader(w.j.api, kinesisx.ReaderOptions{Stream: w.stream, ShardID: w.shard,
		Start: from.start(w.start), MinInterval: o.MinInterval, Logger: o.Logger})
	if err != nil {
		w.log.Error("creating shard reader", "err", err)
		return false
	}
	w.b = newBatch(w.table)
	hkey := w.stream + "/" + w.shard
	w.j.h.readStarted(hkey)
	var prev kinesisx.ReaderStats
	recordsIn := m.RecordsIn.WithLabelValues(string(w.table))
	for {
		if ctx.Err() != nil {
			w.shutdown(ctx)
			return false
		}
		if w.inflight.decided() {
			// Take the outcomes in as they come (the counters and the
			// positions), not only at the next flush.
			if err := w.settle(ctx); err != nil {
				if errors.Is(err, errReset) {
					w.log.Info("another writer committed this shard's records: reading again from the committed positions",
						"main", w.pos[mainTable].String(), "quarantine", w.pos[quarantineTable].String())
				} else if ctx.Err() == nil {
					w.log.Error("committing, will restart the shard from its committed positions", "err", err)
				}
				return false
			}
		}
		if w.n > 0 && time.Since(w.opened) >= o.FlushInterval {
			if !w.flushOrPause(ctx, false) {
				return false
			}
		}
		res, err := r.Next(ctx)
		st := r.Stats()
		m.Throttled.WithLabelValues(w.stream).Add(float64(st.Throttled - prev.Throttled))
		m.ExpiredIters.WithLabelValues(w.stream).Add(float64(st.Expired - prev.Expired))
		m.Errors.WithLabelValues(w.stream).Add(float64(st.Errors - prev.Errors))
		prev = st
		if err != nil {
			if ctx.Err() != nil {
				w.shutdown(ctx)
				return false
			}
			w.log.Error("reading shard, will restart it from its committed position", "err", err)
			w.shutdown(ctx)
			_ = ctxwait.Sleep(ctx, permanentPause)
			return false
		}
		w.j.h.readOK(hkey)
		m.MillisBehind.WithLabelValues(w.stream, w.shard).Set(float64(res.MillisBehindLatest))
		for _, rec := range res.Records {
			// A flush is cut between Kinesis records, never inside one: the
			// user records of a KPL-aggregated record go into one flush, and
			// a position (a sequence number) covers all of them or none.
			n := w.add(rec)
			recordsIn.Add(float64(n))
			w.j.c.in.Add(int64(n))
			if w.n >= o.FlushRecords && !w.flushOrPause(ctx, false) {
				return false
			}
		}
		if res.End {
			if !w.flushOrPause(ctx, true) {
				return false
			}
			m.MillisBehind.DeleteLabelValues(w.stream, w.shard)
			w.j.h.readDone(hkey)
			return true
		}
	}
}

// add buffers one Kinesis record: its user records, one unless it is
// KPL-aggregated (addKinesis); it returns how many. A record the stream's
// table already holds (its position is ahead of the quarantine's after a
// crash between the two commits) is only checked for rejects the quarantine
// still lacks.
func (w *worker) add(rec kinesisx.Record) int {
	if w.n == 0 {
		w.first = rec.Sequence
		w.opened = time.Now()
	}
	w.last = rec.Sequence
	var n, blanks int
	inMain, inQuarantine := w.pos[mainTable].Covers(rec.Sequence), w.pos[quarantineTable].Covers(rec.Sequence)
	switch {
	case !inMain:
		n, blanks = addKinesis(w.b, w.stream, w.shard, rec, inQuarantine)
	case !inQuarantine:
		if w.rej == nil {
			w.rej = newBatch(w.table)
		}
		n, _ = addKinesis(w.rej, w.stream, w.shard, rec, false)
	default: // nothing to keep, but the position moves past it
		n = userRecords(rec)
	}
	w.n += n
	if blanks > 0 {
		w.j.o.Metrics.Blank.WithLabelValues(string(w.table)).Add(float64(blanks))
		w.j.c.blank.Add(int64(blanks))
	}
	return n
}

// flushOrPause flushes; on failure (other than ctx done) it logs, pauses
// when the failure is not a reset, and reports false so that the worker
// restarts from the committed positions.
func (w *worker) flushOrPause(ctx context.Context, closed bool) bool {
	err := w.flush(ctx, closed)
	if err == nil {
		return true
	}
	if ctx.Err() != nil {
		w.shutdown(ctx)
		return false
	}
	if errors.Is(err, errReset) {
		w.log.Info("another writer committed this shard's records: reading again from the committed positions",
			"main", w.pos[mainTable].String(), "quarantine", w.pos[quarantineTable].String())
		return false
	}
	w.log.Error("flushing, will restart the shard from its committed positions", "err", err)
	_ = ctxwait.Sleep(ctx, permanentPause)
	return false
}

// shutdown flushes what is buffered and waits for the commits, with a
// fresh deadline (ShutdownTimeout); what does not make it is read again by
// the next run.
func (w *worker) shutdown(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.j.o.ShutdownTimeout)
	defer cancel()
	err := w.flushFinal(sctx)
	if err == nil {
		err = w.settle(sctx)
	}
	if err != nil && !errors.Is(err, errReset) {
		w.log.Warn("final flush; the next run reads these records again", "err", err)
	}
}

// commitStart commits the shard's start time to the tables that have no
// position yet.
func (w *worker) commitStart(ctx context.Context, t time.Time) error {
	next := Position{From: &t}
	var in inflight
	for i, c := range w.j.committers(w.table) {
		if w.pos[i].IsZero() {
			in.flushes[i] = &flush{stream: w.stream, shard: w.shard, base: w.pos[i], next: next, done: make(chan outcome, 1)}
			if err := c.submit(ctx, in.flushes[i]); err != nil {
				return err
			}
		}
	}
	w.inflight = &in
	return w.settle(ctx)
}

// flush writes the buffered records' files and submits them, with the
// shard's position after them, to the two tables' committers, once the
// previous flush's outcomes are in (PROTOCOL.md). With closed, the position
// says the shard is finished, and flush waits for its outcomes.
func (w *worker) flush(ctx context.Context, closed bool) error {
	return w.flushAll(ctx, closed, false)
}

// flushFinal flushes at a stop: every table gets its position, also one
// left out of the last flushes for having no file in them (IdleCommit), so
// that the next run reads nothing again.
func (w *worker) flushFinal(ctx context.Context) error { return w.flushAll(ctx, false, true) }

func (w *worker) flushAll(ctx context.Context, closed, final bool) error {
	if err := w.settle(ctx); err != nil {
		return err
	}
	lagging := !w.pos[mainTable].Reaches(w.want[mainTable]) || !w.pos[quarantineTable].Reaches(w.want[quarantineTable])
	if w.n == 0 && !closed && !(final && lagging) {
		return nil
	}
	t0 := time.Now()
	next := w.want
	for i := range next {
		if w.pos[i].Reaches(next[i]) {
			next[i] = w.pos[i]
		}
	}
	if w.n > 0 {
		for i := range next {
			if !w.pos[i].Covers(w.last) {
				next[i] = Position{After: w.last}
			}
		}
	}
	for i := range next {
		next[i].Closed = closed
		if closed && next[i].After == "" {
			next[i].After = w.pos[i].After
		}
	}
	in := &inflight{cut: t0}
	committers := w.j.committers(w.table)
	var todo [2]*flush
	for i, c := range committers {
		if next[i].Equal(w.pos[i]) {
			continue
		}
		files, rows, err := w.writeFiles(ctx, c.tbl, i)
		if err != nil {
			return err // nothing submitted: the buffer is flushed again, or read again
		}
		if len(files) == 0 && !closed && !final && time.Since(w.lastCommit[i]) < w.j.o.IdleCommit {
			w.want[i] = next[i]
			if i == mainTable {
				w.carry.Merge(w.b.quality()) // counted with the main table's next flush
			}
			continue // nothing for this table: its position may lag a little
		}
		todo[i] = &flush{stream: w.stream, shard: w.shard, base: w.pos[i], next: next[i], files: files, rows: rows,
			done: make(chan outcome, 1)}
		in.rows[i] = rows
		if i == mainTable {
			q := w.carry
			w.carry = clean.TableQuality{}
			q.Merge(w.b.quality())
			q.RowsWritten = rows
			todo[i].quality, in.quality = &q, q
		}
	}
	// From here the buffer is the committers': whatever happens to the
	// submissions, it is never flushed again (what is not committed is read
	// again from the committed positions).
	w.inflight = in
	w.b.reset()
	w.rej = nil
	w.n = 0
	w.first, w.last = "", ""
	for i, f := range todo {
		if f == nil {
			continue
		}
		if err := committers[i].submit(ctx, f); err != nil {
			return err
		}
		in.flushes[i] = f
		w.want[i] = next[i]
		w.lastCommit[i] = t0
	}
	if closed {
		return w.settle(ctx)
	}
	return nil
}

// writeFiles writes the files of table i of the buffered records: one per
// dt partition with rows (or rejects, for the quarantine).
func (w *worker) writeFiles(ctx context.Context, tbl *tables.Table, i int) ([]tables.File, int64, error) {
	o := w.j.o
	var files []tables.File
	var total int64
	write := func(dt string, rows int, fn func(io.Writer, parquetio.Options) (int, error)) error {
		name := fmt.Sprintf("%s-%s-%s.parquet", w.shard, w.first, randomSuffix())
		if i == quarantineTable {
			name = w.stream + "-" + name
		}
		loc := tbl.FileLocation(dt, name)
		opts := o.Parquet
		opts.Date = dt
		var f tables.File
		err := w.persist(ctx, "writing "+loc, func(ctx context.Context) error {
			var err error
			f, err = tbl.WriteFile(ctx, loc, dt, int64(rows), func(wr io.Writer) error {
				_, err := fn(wr, opts)
				return err
			})
			if err != nil && ctx.Err() == nil {
				w.j.h.flushFailed(w.stream+"/"+w.shard, err)
			}
			return err
		})
		if err != nil {
			return err
		}
		files = append(files, f)
		total += int64(rows)
		kind := "data"
		if i == quarantineTable {
			kind = "quarantine"
		}
		o.Metrics.FilesWritten.WithLabelValues(kind).Inc()
		return nil
	}
	if i == mainTable {
		for _, dt := range w.b.dts() {
			err := write(dt, w.b.rowCount(dt), func(wr io.Writer, opts parquetio.Options) (int, error) {
				return w.b.writeRows(wr, dt, o.SourceColumns, opts)
			})
			if err != nil {
				return nil, 0, fmt.Errorf("%s rows of %s: %w", w.table, dt, err)
			}
		}
		return files, total, nil
	}
	for _, b := range []batch{w.b, w.rej} {
		if b == nil {
			continue
		}
		for _, dt := range b.rejectDTs() {
			err := write(dt, b.rejectCount(dt), func(wr io.Writer, opts parquetio.Options) (int, error) {
				return b.writeRejects(wr, dt, opts)
			})
			if err != nil {
				return nil, 0, fmt.Errorf("%s rejects of %s: %w", w.table, dt, err)
			}
		}
	}
	return files, total, nil
}

// settle waits for the outcomes of the flush in flight and takes them in:
// the committed positions move on, or errReset says another writer's
// commits moved them elsewhere.
func (w *worker) settle(ctx context.Context) error {
	in := w.inflight
	if in == nil {
		return nil
	}
	m := w.j.o.Metrics
	var reset, others bool
	for i, f := range in.flushes {
		if f == nil {
			continue
		}
		var out outcome
		select {
		case out = <-f.done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		in.flushes[i] = nil
		if out.err != nil && !errors.Is(out.err, errReset) {
			w.inflight = nil // a stopped committer decided nothing: the next run reads them again
			return out.err
		}
		w.pos[i] = out.pos
		reset = reset || errors.Is(out.err, errReset) || !out.pos.Equal(f.next)
		if !out.mine {
			others = true
			continue
		}
		tbl := string(w.table)
		if i == mainTable {
			m.RecordsOut.WithLabelValues(tbl).Add(float64(in.rows[i]))
			m.countNulls(tbl, in.quality)
			w.j.c.out.Add(in.rows[i])
		} else {
			m.Rejected.WithLabelValues(tbl).Add(float64(in.rows[i]))
			w.j.c.rejected.Add(in.rows[i])
		}
	}
	w.inflight = nil
	took := time.Since(in.cut).Seconds()
	m.FlushSeconds.Observe(took)
	w.j.c.flushes.Add(1)
	outcome := OutcomeCommitted
	switch {
	case reset:
		outcome = OutcomeReset
	case others:
		outcome = OutcomeAlreadyCommitted
	}
	w.j.flushes.add(FlushStatus{Time: w.j.o.Now().UTC(), Table: "stream_" + string(w.table), Stream: w.stream, Shard: w.shard,
		Rows: in.rows[mainTable], Rejected: in.rows[quarantineTable], Seconds: took, Outcome: outcome})
	w.j.h.flushOK(w.stream + "/" + w.shard)
	if reset {
		// The buffered records follow a position the tables do not have:
		// drop them, they are read again from the committed positions.
		w.b.reset()
		w.rej = nil
		w.n = 0
		w.first, w.last = "", ""
		w.want = w.pos
		w.carry = clean.TableQuality{}
		return errReset
	}
	return nil
}

// persist calls f until it succeeds or ctx is done, with capped backoff
// (retry.Policy's defaults: 100ms doubling to 5s, jittered), logging each
// retried error. Its error is the context's cause, wrapping f's last error.
func (w *worker) persist(ctx context.Context, what string, f func(context.Context) error) error {
	err := retry.Do(ctx, retry.Policy{Notify: func(err error, _ int, wait time.Duration) {
		w.log.Warn("retrying", "op", what, "err", err, "wait", wait)
	}}, f)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// randomSuffix makes a data file's name unique: a flush written again
// (after a conflict or a restart) never overwrites a file a snapshot lists.
func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
