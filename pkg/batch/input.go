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
	mu     sync.Mutex
	keys   []string // by object id
	counts map[clean.Table]Counts
	done   time.Duration // how long the listing took, once it is done
}

func newListing() *listing {
	l := &listing{counts: make(map[clean.Table]Counts, len(clean.Tables))}
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

// add numbers and counts an object of table t.
func (l *listing) add(t clean.Table, key string, size int64) int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts[t]
	c.Objects++
	c.Bytes += size
	l.counts[t] = c
	l.keys = append(l.keys, key)
	return int32(len(l.keys) - 1)
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
		g.Go(func() error {
			topic := landing.Topic(cfg.Prefix, t)
			send := func(page []objstore.Object) error {
				for _, o := range page {
					k, err := landing.ParseKey(o.Key) // listed under the topic's directory: k.Topic is topic
					if err != nil {
						l.skip(t)
						cfg.Logger.Warn("skipping an object that is not in the landing layout", "key", o.Key, "err", err)
						continue
					}
					obj := object{key: o.Key, size: o.Size, table: t, partition: k.Partition, start: k.Start, gz: k.Gzip, id: l.add(t, o.Key, o.Size)}
					cfg.Progress.ObjectsTotal.Add(1)
					select {
					case out <- obj:
					case <-gctx.Done():
						return context.Cause(gctx)
					}
				}
				return nil
			}
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
	}
	err := g.Wait()
	l.mu.Lock()
	l.done = time.Since(start)
	l.mu.Unlock()
	return err
}
