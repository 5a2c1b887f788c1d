package batch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// object is one landed object of a topic.
type object struct {
	key       string // relative to the input root
	size      int64
	table     clean.Table
	partition int32
	start     int64 // offset of its first line
	gz        bool
	etag      string
	id        int32 // its number in the listing (listing.key gives its key back)
}

// openInput opens the input store and checks that it exists: a missing
// directory or an unreachable or missing bucket is an error, an empty one is
// not.
func openInput(ctx context.Context, cfg Config) (objstore.Bucket, error) {
	b, err := objstore.Open(ctx, cfg.Input, cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	root := b.URL("")
	if !strings.Contains(root, "://") { // the file store: URL("") is its directory
		info, err := os.Stat(root)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("input directory %s does not exist", root)
		case err != nil:
			return nil, fmt.Errorf("input %s: %w", root, err)
		case !info.IsDir():
			return nil, fmt.Errorf("input %s is not a directory", root)
		}
		return b, nil
	}
	if err := objstore.Check(ctx, b); err != nil {
		return nil, fmt.Errorf("input %s is not reachable: %w", cfg.Input, err)
	}
	return b, nil
}

// listing lists the objects of the three topics and numbers them. Safe for
// concurrent use.
type listing struct {
	// progress is the progress of each topic's state; a topic without is
	// listed whole.
	progress map[clean.Table]*TopicProgress

	mu     sync.Mutex
	keys   []string // by object id
	objs   []object // by object id
	counts map[clean.Table]Counts
	done   time.Duration // how long the listing took, once it is done
}

func newListing(progress map[clean.Table]*TopicProgress) *listing {
	l := &listing{progress: progress, counts: make(map[clean.Table]Counts, len(clean.Tables))}
	for _, t := range clean.Tables {
		l.counts[t] = Counts{} // every table is reported, an empty one too
	}
	return l
}

// key returns the key of the object numbered id.
func (l *listing) key(id int32) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keys[id]
}

// add numbers and counts an object.
func (l *listing) add(obj *object) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts[obj.table]
	c.Objects++
	c.Bytes += obj.size
	l.counts[obj.table] = c
	obj.id = int32(len(l.keys))
	l.keys = append(l.keys, obj.key)
	l.objs = append(l.objs, *obj)
}

func (l *listing) skip(t clean.Table) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts[t]
	c.SkippedObjects++
	l.counts[t] = c
}

// run lists the three topics at the same time and sends every object in the
// landing layout to out as soon as its page is listed, so that reading
// starts with the first page (a listing of many small objects is a long
// series of round trips). Keys that are not in the landing layout are
// skipped and counted. The order in which objects are sent does not matter:
// rows are ordered by their position in the topic, not by when they are read.
func (l *listing) run(ctx context.Context, cfg Config, in objstore.Reader, out chan<- object) error {
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for _, t := range clean.Tables {
		topic := landing.Topic(cfg.Prefix, t)
		send := func(page []objstore.Object) error {
			for _, o := range page {
				k, err := landing.ParseKey(o.Key)
				if err != nil || k.Topic != topic {
					l.skip(t)
					cfg.Logger.Warn("skipping an object that is not in the landing layout", "key", o.Key, "err", err)
					continue
				}
				obj := object{key: o.Key, size: o.Size, etag: o.ETag, table: t, partition: k.Partition, start: k.Start, gz: k.Gzip}
				l.add(&obj)
				cfg.Progress.ObjectsTotal.Add(1)
				select {
				case out <- obj:
				case <-gctx.Done():
					return context.Cause(gctx)
				}
			}
			return nil
		}
		prog := l.progress[t]
		if prog == nil {
			g.Go(func() error {
				var err error
				if pl, ok := in.(objstore.PageLister); ok {
					err = pl.ListPages(gctx, landing.TopicDir(topic), send)
				} else {
					var list []objstore.Object
					if list, err = in.List(gctx, landing.TopicDir(topic)); err == nil {
						err = send(list)
					}
				}
				if err != nil {
					return fmt.Errorf("listing topic %s: %w", topic, err)
				}
				return nil
			})
			continue
		}
		// Incremental: each partition from its progress on.
		g.Go(func() error {
			dirs, err := objstore.ListDirs(gctx, in, landing.TopicDir(topic))
			if err != nil {
				return fmt.Errorf("listing the partitions of topic %s: %w", topic, err)
			}
			parts := map[int32]bool{}
			for p := range prog.Partitions {
				parts[p] = true
			}
			for _, d := range dirs {
				if p, ok := landing.ParsePartitionDir(d); ok {
					parts[p] = true
				} else {
					cfg.Logger.Warn("skipping a directory that is not a partition of the landing layout", "dir", landing.TopicDir(topic)+d)
				}
			}
			pg, pctx := errgroup.WithContext(gctx)
			pg.SetLimit(16) // listings at once
			for part := range parts {
				pg.Go(func() error {
					objs, err := listPartition(pctx, in, topic, part, prog.Partitions[part])
					if err != nil {
						return fmt.Errorf("listing topic %s partition %d: %w", topic, part, err)
					}
					return send(objs)
				})
			}
			return pg.Wait()
		})
	}
	err := g.Wait()
	l.mu.Lock()
	l.done = time.Since(start)
	l.mu.Unlock()
	return err
}

// read returns the objects of table t read, with their line counts (lines,
// by object id), by partition.
func (l *listing) read(t clean.Table, lines map[int32]int64) map[int32][]ReadObject {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int32][]ReadObject{}
	for _, o := range l.objs {
		if o.table != t {
			continue
		}
		out[o.partition] = append(out[o.partition], ReadObject{Key: o.key, Start: o.start, Lines: lines[o.id], Size: o.size, ETag: o.etag})
	}
	return out
}
