// Package objstore is the object-store boundary of pinpipe: one small interface
// with three implementations, the local file system, S3 (any S3-compatible
// endpoint from the standard AWS configuration) and memory (tests). Addresses
// are URLs (data.md §6).
package objstore

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// ErrNotFound is returned by Get when the key does not exist.
var ErrNotFound = errors.New("object not found")

// ErrPrecondition is returned by a conditional write or delete whose
// condition did not hold (HTTP 412): the key exists for Cond.IfAbsent, or the
// object is not the version Cond.IfMatch names (or is missing, for a write).
var ErrPrecondition = errors.New("precondition failed")

// ErrExpired is returned by a conditional request that was not applied
// because its Cond.Deadline had passed: refused by the store (S3 checks the
// deadline with its own clock when the request arrives), or not sent.
var ErrExpired = errors.New("request deadline passed")

// Object describes one stored object. Key is relative to the bucket's root URL.
type Object struct {
	Key  string
	Size int64
	// ETag names the object's version for Cond.IfMatch: on S3 the ETag (for
	// a one-part upload, the MD5 of the content); on the file store, the
	// file's identity (inode, change time, size), which differs for every
	// write even of the same content. Empty when unknown.
	ETag string
	// Modified is when the object was written (S3 LastModified, the file's
	// modification time). Zero when unknown.
	Modified time.Time
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
	// When Put returns nil the object is durable (the file store has synced
	// the file and its directory).
	Put(ctx context.Context, key string, r io.Reader) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// URL returns the full address of key, for messages ("s3://b/p/key", "/abs/dir/key").
	URL(key string) string
}

// Cond is the condition of a conditional write or delete. The store checks
// it and applies the request in one atomic step.
type Cond struct {
	// IfAbsent writes only when no object has the key (If-None-Match: *).
	IfAbsent bool
	// IfMatch applies the request only to this version of the object
	// (Object.ETag; HTTP If-Match). A write to a missing key fails with
	// ErrPrecondition; a delete of a missing key succeeds.
	IfMatch string
	// Deadline, when set, is the last moment the request may take effect.
	// S3 gets a presigned request that expires then, so a request delayed
	// in the network or held by a slow endpoint is refused by the store's
	// own clock; the file and memory stores check it just before the
	// change. A request whose deadline is too close to be sent is not sent.
	// Either way the result is ErrExpired.
	Deadline time.Time
}

// Conditional is implemented by buckets that apply writes and deletes under
// a Cond, and tell an object's version. All three stores implement it.
type Conditional interface {
	Bucket
	// PutIf stores r under key when c holds and returns the stored
	// version's ETag. It fails with ErrPrecondition or ErrExpired.
	PutIf(ctx context.Context, key string, r io.Reader, c Cond) (etag string, err error)
	// DeleteIf removes key when c holds (c.IfAbsent is not allowed).
	DeleteIf(ctx context.Context, key string, c Cond) error
	// GetVersion is Get, with the ETag of the version being read.
	GetVersion(ctx context.Context, key string) (io.ReadCloser, string, error)
}

// AfterLister lists from a key on, so that a caller need not list what it
// has already seen (S3 ListObjectsV2 StartAfter).
type AfterLister interface {
	// ListAfter returns the objects whose key starts with prefix and sorts
	// after startAfter, sorted by key.
	ListAfter(ctx context.Context, prefix, startAfter string) ([]Object, error)
}

// ListAfter lists the objects of r under prefix whose key sorts after
// startAfter, with r's ListAfter when it has one, else by filtering List.
func ListAfter(ctx context.Context, r Reader, prefix, startAfter string) ([]Object, error) {
	if al, ok := r.(AfterLister); ok {
		return al.ListAfter(ctx, prefix, startAfter)
	}
	objs, err := r.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	i := 0
	for i < len(objs) && objs[i].Key <= startAfter {
		i++
	}
	return objs[i:], nil
}

// Sweeper is implemented by stores that leave temporary files behind when a
// writer is killed (the file store): Sweep removes those under prefix older
// than olderThan, and returns how many it removed.
type Sweeper interface {
	Sweep(ctx context.Context, prefix string, olderThan time.Duration) (int, error)
}

// TempMaxAge is the age past which Sweep takes a temporary file for one a
// killed writer left: a live writer's is younger.
const TempMaxAge = time.Hour

// SweepTemp removes the temporary files that killed writers left under
// prefix, when b has them (Sweeper), and returns how many it removed.
func SweepTemp(ctx context.Context, b Bucket, prefix string) (int, error) {
	if s, ok := b.(Sweeper); ok {
		return s.Sweep(ctx, prefix, TempMaxAge)
	}
	return 0, nil
}

// DirLister lists the "directories" right under a prefix (S3 common
// prefixes with the delimiter "/"), without listing the objects in them.
type DirLister interface {
	// ListDirs returns the names (without prefix or trailing slash) of the
	// directories right under prefix, which ends with "/", sorted.
	ListDirs(ctx context.Context, prefix string) ([]string, error)
}

// ListDirs lists the directories right under prefix with r's ListDirs when
// it has one, else from the keys of List.
func ListDirs(ctx context.Context, r Reader, prefix string) ([]string, error) {
	if dl, ok := r.(DirLister); ok {
		return dl.ListDirs(ctx, prefix)
	}
	objs, err := r.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Key, prefix)
		if i := strings.IndexByte(rest, '/'); i > 0 && (len(dirs) == 0 || dirs[len(dirs)-1] != rest[:i]) {
			dirs = append(dirs, rest[:i])
		}
	}
	return dirs, nil
}
