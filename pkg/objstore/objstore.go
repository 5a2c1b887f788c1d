// Package objstore is the object-store boundary of pinpipe: one small interface
// with two implementations, the local file system and S3 (any S3-compatible
// endpoint from the standard AWS configuration). Addresses are URLs (data.md §6).
package objstore

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is returned by Get when the key does not exist.
var ErrNotFound = errors.New("object not found")

// Object describes one stored object. Key is relative to the bucket's root URL.
type Object struct {
	Key  string
	Size int64
}

// Reader reads objects. Keys are slash-separated and relative to the root URL
// the store was opened with.
type Reader interface {
	// List returns every object whose key starts with prefix (recursively),
	// sorted by key.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Get streams one object. A missing key gives an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
}

// Bucket reads and writes objects.
type Bucket interface {
	Reader
	// Put stores the whole of r under key. A reader never sees a partly
	// written object: it sees the old content, or none, or the new content.
	Put(ctx context.Context, key string, r io.Reader) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// URL returns the full address of key, for messages ("s3://b/p/key", "/abs/dir/key").
	URL(key string) string
}
