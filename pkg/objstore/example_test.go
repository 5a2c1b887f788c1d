package objstore_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/pinpipe/pinpipe/pkg/objstore"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "objstore-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// "s3://bucket/prefix" works the same, with the standard AWS configuration.
	b, err := objstore.Open(ctx, "file://"+dir, objstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := objstore.Check(ctx, b); err != nil {
		log.Fatal(err)
	}
	key := objstore.Join("topics/pin", "partition=0", "pin+0+0000000000.json")
	if err := b.Put(ctx, key, strings.NewReader(`{"index":1}`+"\n")); err != nil {
		log.Fatal(err)
	}
	objs, err := b.List(ctx, "topics/")
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range objs {
		fmt.Println(o.Key, o.Size)
	}
	rc, err := b.Get(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(data))
	// Output:
	// topics/pin/partition=0/pin+0+0000000000.json 12
	// {"index":1}
}
