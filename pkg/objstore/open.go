package objstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
)

// Options configures Open. The zero value is ready to use.
type Options struct {
	// MaxAttempts of each S3 request, with exponential backoff and jitter
	// (transient = 5xx, throttling, connection reset/EOF, timeouts). It also
	// bounds the consecutive resumes of an object body broken mid-read.
	// Default: 8.
	MaxAttempts int
	// Endpoint overrides the S3 endpoint of the AWS configuration (tests).
	// Default: from the AWS configuration (AWS_ENDPOINT_URL_S3,
	// AWS_ENDPOINT_URL, profile), else AWS.
	Endpoint string
	// PathStyle forces path-style addressing. Default: true when a custom
	// endpoint is configured (Options.Endpoint, AWS_ENDPOINT_URL_S3 or
	// AWS_ENDPOINT_URL), false for real AWS.
	PathStyle *bool
	// Logger receives retry and resume messages. Default: nil, silent.
	Logger *slog.Logger
}

// DefaultMaxAttempts is the default of Options.MaxAttempts.
const DefaultMaxAttempts = 8

// Validate reports options that cannot work.
func (o Options) Validate() error {
	if o.MaxAttempts < 0 {
		return fmt.Errorf("objstore: MaxAttempts is %d, want >= 0 (0 means %d)", o.MaxAttempts, DefaultMaxAttempts)
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil {
			return fmt.Errorf("objstore: endpoint %q: %w", o.Endpoint, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("objstore: endpoint %q: want http://host[:port] or https://host[:port]", o.Endpoint)
		}
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Open returns the bucket at rawURL: "s3://bucket/prefix", "file:///abs/dir"
// or a plain path (relative paths are made absolute). Keys are relative to
// the URL's prefix or directory. Open does no network I/O beyond loading the
// AWS configuration; use Check to probe the store.
func Open(ctx context.Context, rawURL string, opts Options) (Bucket, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if rawURL == "" {
		return nil, errors.New("objstore: empty URL (want s3://bucket/prefix, file:///abs/dir or a path)")
	}
	scheme, rest, hasScheme := strings.Cut(rawURL, "://")
	if !hasScheme {
		dir, err := filepath.Abs(rawURL)
		if err != nil {
			return nil, fmt.Errorf("objstore: path %q: %w", rawURL, err)
		}
		return newFileBucket(dir), nil
	}
	switch strings.ToLower(scheme) {
	case "s3":
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("objstore: URL %q has no bucket (want s3://bucket/prefix)", rawURL)
		}
		if strings.ContainsAny(bucket, " ?#%\\") {
			return nil, fmt.Errorf("objstore: URL %q: invalid bucket name %q", rawURL, bucket)
		}
		prefix = strings.Trim(prefix, "/")
		return newS3Bucket(ctx, bucket, prefix, opts)
	case "file":
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("objstore: URL %q: %w", rawURL, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("objstore: URL %q: file URLs take an absolute path (file:///abs/dir), got host %q", rawURL, u.Host)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("objstore: URL %q: file URLs take no query or fragment", rawURL)
		}
		if !filepath.IsAbs(u.Path) {
			return nil, fmt.Errorf("objstore: URL %q: file URLs take an absolute path (file:///abs/dir)", rawURL)
		}
		return newFileBucket(filepath.Clean(u.Path)), nil
	default:
		return nil, fmt.Errorf("objstore: URL %q: unsupported scheme %q (want s3://, file:// or a path)", rawURL, scheme)
	}
}

// Checker is implemented by buckets that can probe their store.
type Checker interface {
	Check(ctx context.Context) error
}

// Check probes b so that callers can fail fast with one clear line: for S3 it
// checks the bucket exists and the credentials reach it (HeadBucket); for the
// file system, that the root is a directory (or can be created) and is
// writable. Buckets that cannot be probed pass.
func Check(ctx context.Context, b Bucket) error {
	if c, ok := b.(Checker); ok {
		return c.Check(ctx)
	}
	return nil
}

// Copier copies objects within one store (server-side on S3).
type Copier interface {
	// Copy stores the content of srcKey under dstKey. A missing srcKey gives an
	// error wrapping ErrNotFound.
	Copy(ctx context.Context, srcKey, dstKey string) error
}

// PageLister lists in pages, as they arrive, so that a caller can start on
// the first objects while the rest are listed, or stop early. It is
// implemented by the S3 store (a listing of many objects is a series of
// round trips) and the file store (which reads the names first, then looks
// at the files a page at a time).
type PageLister interface {
	// ListPages calls fn with the objects of each page whose keys start
	// with prefix (recursively). Each page is sorted by key; S3 returns
	// the pages in key order, but a caller must not rely on the order of
	// pages. An error of fn stops the listing and is returned.
	ListPages(ctx context.Context, prefix string, fn func([]Object) error) error
}

// Renamer publishes a whole prefix at once. It is implemented by the file
// store only (S3 has no rename; use Copy and Delete, or a marker object).
type Renamer interface {
	// Rename moves every object under the directory srcPrefix to dstPrefix
	// in one step, replacing what was under dstPrefix. A missing srcPrefix
	// gives an error wrapping ErrNotFound.
	Rename(ctx context.Context, srcPrefix, dstPrefix string) error
}

// Join joins key elements with exactly one "/" between non-empty elements.
// A leading "/" of the first element and a trailing "/" of the last are kept,
// so Join("runs", "2024/") == "runs/2024/" is still a directory-like prefix.
func Join(elem ...string) string {
	parts := make([]string, 0, len(elem))
	for _, e := range elem {
		if e != "" {
			parts = append(parts, e)
		}
	}
	for i := range parts {
		if i > 0 {
			parts[i] = strings.TrimLeft(parts[i], "/")
		}
		if i < len(parts)-1 {
			parts[i] = strings.TrimRight(parts[i], "/")
		}
	}
	out := parts[:0]
	for i, p := range parts {
		if p != "" || i == 0 {
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}

var errExchangeUnsupported = errors.New("atomic exchange not supported")

// OpenConditional is Open for a caller that needs conditional requests
// (Conditional); every store Open returns has them.
func OpenConditional(ctx context.Context, rawURL string, opts Options) (Conditional, error) {
	b, err := Open(ctx, rawURL, opts)
	if err != nil {
		return nil, err
	}
	c, ok := b.(Conditional)
	if !ok {
		return nil, fmt.Errorf("objstore: %s has no conditional requests", b.URL(""))
	}
	return c, nil
}
