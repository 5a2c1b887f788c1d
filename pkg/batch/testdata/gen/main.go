// Command gen lays out sample posts in the landing layout of data.md §5, for
// the DAG test and the batch benchmarks:
//
//	go run ./pkg/batch/testdata/gen --out DIR_OR_URL --prefix P --posts 1000000 --per-object 10000
//
// Post k is sample row sample.Posts(seed, rows, posts)[k] (drawn with
// replacement, so rows repeat), sent to the three topics as dirty records.
// With --skip K the first K posts are not stored but their offsets counted:
// a call with --posts 2N --skip N lands the posts that follow those of a
// call with --posts N (the same seed and rows), as a sink would the next
// day. --delete deletes every object under --out instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pinpipe/pinpipe/pkg/batch/batchtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

func main() {
	var (
		out, prefix                             string
		posts, rows, perObject, partitions, con int
		seed                                    int64
		gz, plain, del                          bool
		skip                                    int
	)
	flag.StringVar(&out, "out", "", "landing root: a directory or s3://bucket/prefix (required)")
	flag.StringVar(&prefix, "prefix", "124a514b9149", "deployment prefix P")
	flag.IntVar(&posts, "posts", 1000, "posts to send (each one line per topic)")
	flag.IntVar(&rows, "rows", 0, "sample rows drawn from (default: posts)")
	flag.IntVar(&perObject, "per-object", 10000, "records per object")
	flag.IntVar(&partitions, "partitions", 1, "partitions per topic")
	flag.IntVar(&con, "concurrency", 32, "objects stored at the same time")
	flag.Int64Var(&seed, "seed", 42, "generator seed")
	flag.BoolVar(&gz, "gzip", false, "write .json.gz objects")
	flag.BoolVar(&plain, "plain", false, "clean records instead of dirty ones")
	flag.IntVar(&skip, "skip", 0, "posts not stored, their offsets counted (landed by an earlier call)")
	flag.BoolVar(&del, "delete", false, "delete every object under --out instead")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if del {
		err = deleteAll(ctx, out, con)
	} else {
		err = run(ctx, out, prefix, posts, rows, perObject, partitions, con, skip, seed, gz, plain)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out, prefix string, posts, rows, perObject, partitions, con, skip int, seed int64, gz, plain bool) error {
	if out == "" {
		return fmt.Errorf("--out is required")
	}
	if rows <= 0 {
		rows = posts
	}
	b, err := objstore.Open(ctx, out, objstore.Options{})
	if err != nil {
		return err
	}
	start := time.Now()
	layout := batchtest.Layout{Partitions: partitions, PerObject: perObject, Gzip: gz, Concurrency: con}
	var ws [3]*batchtest.Writer
	for i, t := range clean.Tables {
		ws[i] = batchtest.NewWriter(b, landing.Topic(prefix, t), layout)
	}
	g := sample.New(seed)
	for n, i := range sample.Posts(seed, rows, posts) {
		var recs [3][]byte
		if plain {
			r := g.Row(i)
			recs = [3][]byte{r.PinJSON(), r.GeoJSON(), r.UserJSON()}
		} else {
			recs[0], recs[1], recs[2] = g.DirtyRecords(i)
		}
		for k, w := range ws {
			if n < skip {
				w.Skip(recs[k])
				continue
			}
			if err := w.Add(ctx, recs[k]); err != nil {
				return err
			}
		}
	}
	objects := 0
	for _, w := range ws {
		if err := w.Close(ctx); err != nil {
			return err
		}
		objects += w.Objects()
	}
	fmt.Fprintf(os.Stderr, "gen: %d posts, %d objects under %s in %.1fs\n", posts, objects, b.URL(""), time.Since(start).Seconds())
	return nil
}

// deleteAll deletes every object under out, con at a time.
func deleteAll(ctx context.Context, out string, con int) error {
	b, err := objstore.Open(ctx, out, objstore.Options{})
	if err != nil {
		return err
	}
	objs, err := b.List(ctx, "")
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(con)
	for _, o := range objs {
		g.Go(func() error { return b.Delete(gctx, o.Key) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: deleted %d objects under %s\n", len(objs), b.URL(""))
	return nil
}
