package stream

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pinpipe/pinpipe/internal/ctxwait"
	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// permanentPause is how long a worker waits after a permanent error before
// giving its shard back to the coordinator.
const permanentPause = 5 * time.Second

// worker reads one shard and flushes it (PROTOCOL.md).
type worker struct {
	j      *Job
	table  clean.Table
	stream string
	shard  string
	// cp is the shard's checkpoint as stored, except that Pending is set as
	// soon as a flush starts (its outcome is unknown until it ends).
	cp    Checkpoint
	start kinesisx.Position
	log   *slog.Logger

	b           batch
	first, last string    // sequence range of the buffered records
	n           int       // records buffered (blank and rejected ones too)
	opened      time.Time // when the first buffered record was read
}

func (w *worker) startPosition() kinesisx.Position {
	if w.cp.Sequence != "" {
		return kinesisx.Position{Type: kinesisx.AfterSequence, Sequence: w.cp.Sequence}
	}
	return w.start
}

// run reads the shard until it ends (true) or ctx is done or a permanent
// error happens (false). The buffered records are flushed before returning.
func (w *worker) run(ctx context.Context) bool {
	if w.cp.Closed {
		return true
	}
	o := w.j.o
	m := o.Metrics
	r, err := kinesisx.NewShardReader(w.j.api, kinesisx.ReaderOptions{Stream: w.stream, ShardID: w.shard,
		Start: w.startPosition(), MinInterval: o.MinInterval, Logger: o.Logger})
	if err != nil {
		w.log.Error("creating shard reader", "err", err)
		return false
	}
	w.b = newBatch(w.table)
	hkey := w.stream + "/" + w.shard
	w.j.h.readStarted(hkey)
	var prev kinesisx.ReaderStats
	tbl := string(w.table)
	for {
		if ctx.Err() != nil {
			w.shutdown(ctx)
			return false
		}
		if w.n > 0 && w.cp.Pending == nil && time.Since(w.opened) >= o.FlushInterval {
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
			w.log.Error("reading shard, will restart it from its checkpoint", "err", err)
			w.shutdown(ctx)
			_ = ctxwait.Sleep(ctx, permanentPause)
			return false
		}
		w.j.h.readOK(hkey)
		m.MillisBehind.WithLabelValues(w.stream, w.shard).Set(float64(res.MillisBehindLatest))
		for _, rec := range res.Records {
			if p := w.cp.Pending; p != nil && w.n > 0 && kinesisx.CompareSequence(rec.Sequence, p.Last) > 0 {
				if !w.flushOrPause(ctx, false) { // cut exactly where the pending flush did
					return false
				}
			}
			w.add(rec)
			m.RecordsIn.WithLabelValues(tbl).Inc()
			w.j.c.in.Add(1)
			if p := w.cp.Pending; p != nil {
				if kinesisx.CompareSequence(rec.Sequence, p.Last) >= 0 && !w.flushOrPause(ctx, false) {
					return false
				}
			} else if w.n >= o.FlushRecords && !w.flushOrPause(ctx, false) {
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

func (w *worker) add(rec kinesisx.Record) {
	if w.n == 0 {
		w.first = rec.Sequence
		w.opened = time.Now()
	}
	w.last = rec.Sequence
	w.n++
	if w.b.add(w.stream, w.shard, rec) == blank {
		w.j.o.Metrics.Blank.WithLabelValues(string(w.table)).Inc()
		w.j.c.blank.Add(1)
	}
}

// flushOrPause flushes; on failure (other than ctx done) it logs, pauses
// and reports false so that the worker restarts from its checkpoint.
func (w *worker) flushOrPause(ctx context.Context, closed bool) bool {
	err := w.flush(ctx, closed)
	if err == nil {
		return true
	}
	if ctx.Err() != nil {
		w.shutdown(ctx)
		return false
	}
	w.log.Error("flushing, will restart the shard from its checkpoint", "err", err)
	_ = ctxwait.Sleep(ctx, permanentPause)
	return false
}

// shutdown flushes what is buffered with a fresh deadline, unless a pending
// flush (from before a restart) is not yet fully read again: then cutting
// elsewhere could leave records of the old files stored twice, so the
// records are left to the next run.
func (w *worker) shutdown(ctx context.Context) {
	if w.n == 0 {
		return
	}
	if p := w.cp.Pending; p != nil && kinesisx.CompareSequence(w.last, p.Last) < 0 {
		w.log.Info("stopping mid-replay of a pending flush; the next run completes it", "pending_last", p.Last)
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.j.o.ShutdownTimeout)
	defer cancel()
	if err := w.flush(sctx, false); err != nil {
		w.log.Error("final flush; the next run reads these records again", "err", err)
	}
}

// flush stores the buffered records: intent checkpoint, data and
// quarantine files, then the checkpoint (PROTOCOL.md). With closed, it also
// marks the shard finished (even with nothing buffered).
func (w *worker) flush(ctx context.Context, closed bool) error {
	if w.n == 0 && !closed {
		return nil
	}
	o := w.j.o
	m := o.Metrics
	t0 := time.Now()
	var rows, rejects, files int
	if w.n > 0 {
		dts, rdts := w.b.dts(), w.b.rejectDTs()
		if len(dts)+len(rdts) > 0 {
			rng := Range{First: w.first, Last: w.last}
			intent := w.cp
			intent.Pending = &rng
			w.cp.Pending = &rng
			if err := w.putCheckpoint(ctx, intent); err != nil {
				return err
			}
		}
		name := w.shard + "-" + w.first + ".parquet"
		var buf bytes.Buffer
		for _, dt := range dts {
			buf.Reset()
			n, err := w.b.writeRows(&buf, dt, o.SourceColumns, o.Parquet)
			if err != nil {
				return fmt.Errorf("encoding %s rows of %s: %w", w.table, dt, err)
			}
			if err := w.put(ctx, objstore.Join(string(w.table), "dt="+dt, name), buf.Bytes()); err != nil {
				return err
			}
			rows += n
			files++
			m.FilesWritten.WithLabelValues("data").Inc()
		}
		for _, dt := range rdts {
			buf.Reset()
			n, err := w.b.writeRejects(&buf, dt, o.Parquet)
			if err != nil {
				return fmt.Errorf("encoding %s rejects of %s: %w", w.table, dt, err)
			}
			if err := w.put(ctx, objstore.Join(QuarantinePrefix, string(w.table), "dt="+dt, name), buf.Bytes()); err != nil {
				return err
			}
			rejects += n
			files++
			m.FilesWritten.WithLabelValues("quarantine").Inc()
		}
	}
	next := w.cp
	next.Pending = nil
	var delta clean.TableQuality
	if w.n > 0 {
		next.Sequence = w.last
		delta = flushQuality(w.b, rows)
		next.Quality = addQuality(w.cp.Quality, delta)
	}
	next.Closed = closed
	if err := w.putCheckpoint(ctx, next); err != nil {
		return err
	}
	w.cp = next
	w.j.h.flushOK(w.stream + "/" + w.shard)
	w.j.qual.set(w.stream, w.shard, next.Quality)
	tbl := string(w.table)
	m.countNulls(tbl, delta)
	m.RecordsOut.WithLabelValues(tbl).Add(float64(rows))
	m.Rejected.WithLabelValues(tbl).Add(float64(rejects))
	m.FlushSeconds.Observe(time.Since(t0).Seconds())
	w.j.c.out.Add(int64(rows))
	w.j.c.rejected.Add(int64(rejects))
	w.j.c.files.Add(int64(files))
	w.j.c.flushes.Add(1)
	w.log.Debug("flushed", "records", w.n, "rows", rows, "rejects", rejects, "files", files, "last", w.last, "closed", closed)
	w.b.reset()
	w.n = 0
	w.first, w.last = "", ""
	return nil
}

func (w *worker) putCheckpoint(ctx context.Context, cp Checkpoint) error {
	return w.persist(ctx, "writing checkpoint", func(ctx context.Context) error {
		err := w.j.ck.put(ctx, cp)
		if err == nil {
			w.j.o.Metrics.FilesWritten.WithLabelValues("checkpoint").Inc()
		} else if ctx.Err() == nil {
			w.j.h.flushFailed(w.stream+"/"+w.shard, err)
		}
		return err
	})
}

func (w *worker) put(ctx context.Context, key string, data []byte) error {
	return w.persist(ctx, "writing "+key, func(ctx context.Context) error {
		if err := w.j.o.Output.Put(ctx, key, bytes.NewReader(data)); err != nil {
			if ctx.Err() == nil {
				w.j.h.flushFailed(w.stream+"/"+w.shard, err)
			}
			return fmt.Errorf("writing %s: %w", w.j.o.Output.URL(key), err)
		}
		return nil
	})
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
