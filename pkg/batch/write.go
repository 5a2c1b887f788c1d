package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

// Layout of a published date, relative to dt={date}/.
const (
	QualityKey = "quality.json"
)

// CleanDir, InsightDir and QuarantineDir return the directories of a table
// relative to dt={date}/ ("clean/pin/", "insights/{name}/", "quarantine/geo/").
func CleanDir(t clean.Table) string      { return "clean/" + string(t) + "/" }
func InsightDir(name string) string      { return "insights/" + name + "/" }
func QuarantineDir(t clean.Table) string { return "quarantine/" + string(t) + "/" }

// PartName is the name of the i-th Parquet file of a dataset.
func PartName(i int) string { return fmt.Sprintf("part-%05d.parquet", i) }

// writer writes a run's files to its staging prefix and publishes them. Its
// methods may be called concurrently.
type writer struct {
	b           objstore.Bucket
	staging     string // "_staging/dt=D/RUN/"
	rowsPerFile int
	logger      *slog.Logger
	// encoders bounds the files of writeSplit encoded at the same time.
	encoders chan struct{}

	mu   sync.Mutex
	keys []string // written, relative to staging
}

// put writes one file to the staging area. The file store takes it as a
// stream (its Put writes a temporary file); S3 needs a seekable body, to sign
// it and to retry, so the file is encoded into a buffer first.
func (w *writer) put(ctx context.Context, rel string, write func(io.Writer) error) error {
	if _, streams := w.b.(objstore.Renamer); streams {
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := write(pw)
			pw.CloseWithError(err)
			done <- err
		}()
		err := w.b.Put(ctx, w.staging+rel, pr)
		pr.CloseWithError(errors.New("upload ended")) // unblocks the encoder if Put stopped early
		if encErr := <-done; encErr != nil {
			return fmt.Errorf("encoding %s: %w", rel, encErr)
		}
		if err != nil {
			return fmt.Errorf("staging %s: %w", rel, err)
		}
		w.added(rel)
		return nil
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return fmt.Errorf("encoding %s: %w", rel, err)
	}
	if err := w.b.Put(ctx, w.staging+rel, bytes.NewReader(buf.Bytes())); err != nil {
		return fmt.Errorf("staging %s: %w", rel, err)
	}
	w.added(rel)
	return nil
}

func (w *writer) added(rel string) {
	w.mu.Lock()
	w.keys = append(w.keys, rel)
	w.mu.Unlock()
}

// writeSplit writes rows in files of at most rowsPerFile rows (one file, maybe
// empty, at least). The files are encoded at the same time, at most
// w.encoders in all across the writer's calls.
func writeSplit[R any](ctx context.Context, w *writer, dir string, rows []R, write func(io.Writer, []R) error) error {
	g, ctx := errgroup.WithContext(ctx)
	for i, lo := 0, 0; lo < len(rows) || i == 0; i, lo = i+1, lo+w.rowsPerFile {
		part := rows[lo:min(lo+w.rowsPerFile, len(rows))]
		g.Go(func() error {
			select {
			case w.encoders <- struct{}{}:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			defer func() { <-w.encoders }()
			return w.put(ctx, dir+PartName(i), func(out io.Writer) error { return write(out, part) })
		})
	}
	return g.Wait()
}

// writeAll writes the clean tables, the quarantine and the insight tables,
// all at the same time. The insight tables are computed by compute while the
// clean tables are being written; writeAll returns them.
func (w *writer) writeAll(ctx context.Context, t cleanTables, rejected []parquetio.Rejected, compute func() insights.Tables) (insights.Tables, error) {
	var opts parquetio.Options
	g, ctx := errgroup.WithContext(ctx)
	// The largest first: the pins take the longest to encode.
	g.Go(func() error {
		return writeSplit(ctx, w, CleanDir(clean.TablePin), t.pins, func(out io.Writer, rows []clean.Pin) error {
			return parquetio.WritePins(out, rows, nil, opts)
		})
	})
	var ins insights.Tables
	g.Go(func() error {
		ins = compute()
		recs, err := ins.Records(memory.DefaultAllocator)
		if err != nil {
			return fmt.Errorf("building the insight tables: %w", err)
		}
		defer func() {
			for _, r := range recs {
				r.Record.Release()
			}
		}()
		gi, ctx := errgroup.WithContext(ctx)
		for _, r := range recs {
			gi.Go(func() error {
				return w.put(ctx, InsightDir(r.Name)+PartName(0), func(out io.Writer) error {
					return parquetio.WriteRecord(out, r.Record, opts)
				})
			})
		}
		return gi.Wait()
	})
	g.Go(func() error {
		return writeSplit(ctx, w, CleanDir(clean.TableGeo), t.geos, func(out io.Writer, rows []clean.Geo) error {
			return parquetio.WriteGeos(out, rows, nil, opts)
		})
	})
	g.Go(func() error {
		return writeSplit(ctx, w, CleanDir(clean.TableUser), t.users, func(out io.Writer, rows []clean.User) error {
			return parquetio.WriteUsers(out, rows, nil, opts)
		})
	})
	for _, tb := range clean.Tables {
		// rejected is sorted by table first.
		lo, _ := slices.BinarySearchFunc(rejected, string(tb), func(r parquetio.Rejected, t string) int { return strings.Compare(r.Table, t) })
		hi := lo
		for hi < len(rejected) && rejected[hi].Table == string(tb) {
			hi++
		}
		g.Go(func() error {
			return writeSplit(ctx, w, QuarantineDir(tb), rejected[lo:hi], func(out io.Writer, rows []parquetio.Rejected) error {
				return parquetio.WriteRejected(out, rows, opts)
			})
		})
	}
	err := g.Wait()
	return ins, err
}

// writeQuality writes quality.json.
func (w *writer) writeQuality(ctx context.Context, res Result) error {
	b, err := encodeQuality(res)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", QualityKey, err)
	}
	return w.put(ctx, QualityKey, func(out io.Writer) error { _, err := out.Write(b); return err })
}

// files returns the written keys, sorted.
func (w *writer) files() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := slices.Clone(w.keys)
	slices.Sort(k)
	return k
}

// cleanup deletes what the run staged (best effort, not interrupted by the
// end of ctx): everything under its staging prefix, which includes an upload
// the run gave up on (cancelled) that the store completed anyway, or, when
// the prefix cannot be listed, the files it knows it staged. An upload the
// store completes after this is removed by the next run of the date that
// publishes.
func (w *writer) cleanup(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	if err := w.deleteUnder(ctx, w.staging); err == nil {
		return
	}
	for _, k := range w.keys {
		if err := w.b.Delete(ctx, w.staging+k); err != nil {
			w.logger.Warn("deleting a staged file", "key", w.staging+k, "err", err)
		}
	}
}

// deleteUnder deletes every file under prefix, publishConcurrency at a time.
// A file that cannot be deleted is logged and left; the error is that of
// listing the prefix.
func (w *writer) deleteUnder(ctx context.Context, prefix string) error {
	left, err := w.b.List(ctx, prefix)
	if err != nil {
		w.logger.Warn("listing staged files", "prefix", prefix, "err", err)
		return err
	}
	var g errgroup.Group
	g.SetLimit(publishConcurrency)
	for _, o := range left {
		g.Go(func() error {
			if err := w.b.Delete(ctx, o.Key); err != nil {
				w.logger.Warn("deleting a staged file", "key", o.Key, "err", err)
			}
			return nil
		})
	}
	return g.Wait()
}

// publish moves the staged files to dt={date}/ and writes _SUCCESS last:
// delete _SUCCESS; swap the directory (file store) or copy the staged files
// and delete the keys the new run does not have (S3); write _SUCCESS; delete
// the staging area of the date (this run's and any left by killed runs).
func (w *writer) publish(ctx context.Context, date string) error {
	dst := PartitionPrefix(date)
	if err := w.b.Delete(ctx, dst+SuccessKey); err != nil {
		return fmt.Errorf("publishing: %w", err)
	}
	if r, ok := w.b.(objstore.Renamer); ok {
		if err := r.Rename(ctx, w.staging, dst); err != nil {
			return fmt.Errorf("publishing: %w", err)
		}
	} else {
		if err := w.copyStaged(ctx, dst); err != nil {
			return fmt.Errorf("publishing: %w", err)
		}
		have, err := w.b.List(ctx, dst)
		if err != nil {
			return fmt.Errorf("publishing: %w", err)
		}
		keep := make(map[string]bool, len(w.keys))
		for _, k := range w.keys {
			keep[k] = true
		}
		for _, o := range have {
			if rel := strings.TrimPrefix(o.Key, dst); !keep[rel] && rel != SuccessKey {
				if err := w.b.Delete(ctx, o.Key); err != nil {
					return fmt.Errorf("publishing: removing a file of the previous run: %w", err)
				}
			}
		}
	}
	if err := w.b.Put(ctx, dst+SuccessKey, bytes.NewReader(nil)); err != nil {
		return fmt.Errorf("publishing: %w", err)
	}
	// The date is published; leftovers in the staging area only waste space,
	// so failing to delete them does not fail the run.
	_ = w.deleteUnder(ctx, objstore.Join("_staging", "dt="+date)+"/")
	return nil
}

// publishConcurrency bounds the S3 requests of publishing made at the same
// time.
const publishConcurrency = 16

func (w *writer) copyStaged(ctx context.Context, dst string) error {
	c, canCopy := w.b.(objstore.Copier)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(publishConcurrency)
	for _, k := range w.files() {
		g.Go(func() error {
			if canCopy {
				return c.Copy(ctx, w.staging+k, dst+k)
			}
			return getPut(ctx, w.b, w.staging+k, dst+k)
		})
	}
	return g.Wait()
}

func getPut(ctx context.Context, b objstore.Bucket, src, dst string) error {
	rc, err := b.Get(ctx, src)
	if err != nil {
		return err
	}
	defer rc.Close()
	return b.Put(ctx, dst, rc)
}
