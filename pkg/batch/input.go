package batch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/pinpipe/pinpipe/pkg/clean"
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
	seq       int32 // position in the sorted list of all objects: the last tie-breaker
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

// listInput lists the objects of the three topics (at the same time: a
// listing is a series of round trips), in (table, key) order. Keys that are
// not in the landing layout are skipped and counted.
func listInput(ctx context.Context, cfg Config, in objstore.Reader) ([]object, map[clean.Table]Counts, error) {
	var lists [len(clean.Tables)][]objstore.Object
	g, gctx := errgroup.WithContext(ctx)
	for i, t := range clean.Tables {
		g.Go(func() error {
			topic := Topic(cfg.Prefix, t)
			list, err := in.List(gctx, topic+"/")
			if err != nil {
				return fmt.Errorf("listing topic %s: %w", topic, err)
			}
			lists[i] = list
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	var objs []object
	counts := make(map[clean.Table]Counts, len(clean.Tables))
	for i, t := range clean.Tables {
		topic := Topic(cfg.Prefix, t)
		var c Counts
		for _, o := range lists[i] {
			p, start, gz, ok := parseKey(topic, o.Key)
			if !ok {
				c.SkippedObjects++
				cfg.Logger.Warn("skipping an object that is not in the landing layout", "key", o.Key)
				continue
			}
			c.Objects++
			c.Bytes += o.Size
			objs = append(objs, object{key: o.Key, size: o.Size, table: t, partition: p, start: start, gz: gz, seq: int32(len(objs))})
		}
		counts[t] = c
		if c.Objects == 0 {
			cfg.Logger.Info("no objects for topic: its table is empty", "topic", topic)
		}
	}
	return objs, counts, nil
}

// parseKey parses "{topic}/partition={p}/{topic}+{p}+{start}.json[.gz]".
func parseKey(topic, key string) (partition int32, start int64, gz bool, ok bool) {
	rest, found := strings.CutPrefix(key, topic+"/partition=")
	if !found {
		return 0, 0, false, false
	}
	pdir, name, found := strings.Cut(rest, "/")
	if !found || strings.Contains(name, "/") {
		return 0, 0, false, false
	}
	switch {
	case strings.HasSuffix(name, ".json.gz"):
		name, gz = strings.TrimSuffix(name, ".json.gz"), true
	case strings.HasSuffix(name, ".json"):
		name = strings.TrimSuffix(name, ".json")
	default:
		return 0, 0, false, false
	}
	p, err := strconv.ParseInt(pdir, 10, 32)
	if err != nil || p < 0 {
		return 0, 0, false, false
	}
	tail, found := strings.CutPrefix(name, topic+"+"+pdir+"+")
	if !found || tail == "" {
		return 0, 0, false, false
	}
	for _, ch := range tail {
		if ch < '0' || ch > '9' {
			return 0, 0, false, false
		}
	}
	s, err := strconv.ParseInt(tail, 10, 64)
	if err != nil {
		return 0, 0, false, false
	}
	return int32(p), s, gz, true
}
