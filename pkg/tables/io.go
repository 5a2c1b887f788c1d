package tables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	icebergio "github.com/apache/iceberg-go/io"

	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// The Iceberg file IO of pinpipe: every metadata, manifest and data file of
// the tables goes through pkg/objstore, the same S3 client (standard AWS
// configuration) and the same durable file store as everything else, rather
// than iceberg-go's gocloud backends (which would bring a second S3 client
// and its configuration, and many modules, into the binaries).
//
// iceberg-go finds the IO of a location by its URL scheme in a process-wide
// registry. pinpipe registers "s3", "file" and "" there once, with a factory
// that looks up the warehouse of the catalog the request comes from (its
// properties carry an id) and falls back to opening the location's store
// with default options.

// ioPropKey is the catalog property naming the warehouse IO of a Catalog.
const ioPropKey = "pinpipe.io"

var (
	registerOnce sync.Once
	warehouseMu  sync.Mutex
	warehouses   = map[string]*warehouseIO{}
	nextIO       int
)

// registerIO makes iceberg-go use objIO for s3:// and file:// locations.
func registerIO() {
	registerOnce.Do(func() {
		for _, scheme := range []string{"s3", "s3a", "file", ""} {
			icebergio.Unregister(scheme)
			icebergio.Register(scheme, factory)
		}
	})
}

func factory(ctx context.Context, parsed *url.URL, props map[string]string) (icebergio.IO, error) {
	warehouseMu.Lock()
	w := warehouses[props[ioPropKey]]
	warehouseMu.Unlock()
	if w == nil {
		w = &warehouseIO{opts: objstore.Options{}}
	}
	return &objIO{w: w}, nil
}

// warehouseIO holds the stores of one catalog's files: the warehouse's, and
// the ones opened for locations outside it.
type warehouseIO struct {
	id        string
	root      string // the warehouse URL, no trailing "/"
	warehouse objstore.Bucket
	opts      objstore.Options

	mu     sync.Mutex
	stores map[string]objstore.Bucket // by store URL
}

func addWarehouse(root string, b objstore.Bucket, opts objstore.Options) *warehouseIO {
	warehouseMu.Lock()
	defer warehouseMu.Unlock()
	nextIO++
	w := &warehouseIO{id: fmt.Sprintf("w%d", nextIO), root: strings.TrimSuffix(root, "/"), warehouse: b, opts: opts,
		stores: map[string]objstore.Bucket{}}
	warehouses[w.id] = w
	return w
}

func (w *warehouseIO) close() {
	warehouseMu.Lock()
	defer warehouseMu.Unlock()
	delete(warehouses, w.id)
}

// locate returns the store and key of a file location.
func (w *warehouseIO) locate(ctx context.Context, loc string) (objstore.Bucket, string, error) {
	loc = normalizeLocation(loc)
	if w.warehouse != nil {
		if rest, ok := strings.CutPrefix(loc, w.root+"/"); ok {
			return w.warehouse, rest, nil
		}
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil, "", fmt.Errorf("file location %q: %w", loc, err)
	}
	var storeURL, key string
	switch u.Scheme {
	case "s3", "s3a":
		storeURL, key = "s3://"+u.Host, strings.TrimPrefix(u.Path, "/")
	case "file":
		storeURL, key = "file:///", strings.TrimPrefix(u.Path, "/")
	default:
		return nil, "", fmt.Errorf("file location %q: want s3:// or file://", loc)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stores == nil {
		w.stores = map[string]objstore.Bucket{}
	}
	b := w.stores[storeURL]
	if b == nil {
		if b, err = objstore.Open(ctx, storeURL, w.opts); err != nil {
			return nil, "", err
		}
		w.stores[storeURL] = b
	}
	return b, key, nil
}

// normalizeLocation writes a local path as a file:// URL and s3a as s3.
func normalizeLocation(loc string) string {
	switch {
	case strings.HasPrefix(loc, "/"):
		return "file://" + loc
	case strings.HasPrefix(loc, "s3a://"):
		return "s3://" + strings.TrimPrefix(loc, "s3a://")
	}
	return loc
}

// objIO is an iceberg-go IO over objstore.
type objIO struct{ w *warehouseIO }

var (
	_ icebergio.WriteFileIO     = (*objIO)(nil)
	_ icebergio.ReadFileIO      = (*objIO)(nil)
	_ icebergio.ListableIO      = (*objIO)(nil)
	_ icebergio.BulkRemovableIO = (*objIO)(nil)
)

// ioTimeout bounds one file operation: iceberg-go's IO interface has no
// context.
const ioTimeout = 5 * time.Minute

func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), ioTimeout)
}

// Open reads the whole file: Iceberg metadata and manifests are small, and
// pinpipe reads its data files with its own reader.
func (o *objIO) Open(name string) (icebergio.File, error) {
	data, err := o.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(data), name: name, size: int64(len(data))}, nil
}

// ReadFile implements icebergio.ReadFileIO.
func (o *objIO) ReadFile(name string) ([]byte, error) {
	ctx, cancel := opCtx()
	defer cancel()
	return o.w.read(ctx, name)
}

// read reads the file at name (a location in the warehouse) whole; a
// missing one is fs.ErrNotExist.
func (w *warehouseIO) read(ctx context.Context, name string) ([]byte, error) {
	b, key, err := w.locate(ctx, name)
	if err != nil {
		return nil, err
	}
	rc, err := b.Get(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return data, nil
}

// Remove implements icebergio.IO.
func (o *objIO) Remove(name string) error {
	ctx, cancel := opCtx()
	defer cancel()
	b, key, err := o.w.locate(ctx, name)
	if err != nil {
		return err
	}
	return b.Delete(ctx, key)
}

// DeleteFiles implements icebergio.BulkRemovableIO.
func (o *objIO) DeleteFiles(ctx context.Context, paths []string) ([]string, error) {
	var deleted []string
	var errs []error
	for _, p := range paths {
		b, key, err := o.w.locate(ctx, p)
		if err == nil {
			err = b.Delete(ctx, key)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, p)
	}
	return deleted, errors.Join(errs...)
}

// WriteFile implements icebergio.WriteFileIO.
func (o *objIO) WriteFile(name string, p []byte) error {
	ctx, cancel := opCtx()
	defer cancel()
	b, key, err := o.w.locate(ctx, name)
	if err != nil {
		return err
	}
	return b.Put(ctx, key, bytes.NewReader(p))
}

// Create implements icebergio.WriteFileIO: the file is stored when closed.
func (o *objIO) Create(name string) (icebergio.FileWriter, error) {
	return &fileWriter{io: o, name: name}, nil
}

// WalkDir implements icebergio.ListableIO: it lists the files under root.
func (o *objIO) WalkDir(root string, fn fs.WalkDirFunc) error {
	ctx, cancel := opCtx()
	defer cancel()
	b, key, err := o.w.locate(ctx, strings.TrimSuffix(normalizeLocation(root), "/")+"/")
	if err != nil {
		return fn(root, nil, err)
	}
	objs, err := b.List(ctx, key)
	if err != nil {
		return fn(root, nil, err)
	}
	base := strings.TrimSuffix(normalizeLocation(root), "/")
	for _, obj := range objs {
		p := base + "/" + strings.TrimPrefix(obj.Key, key)
		if err := fn(p, fileEntry{name: path.Base(p), size: obj.Size, modified: obj.Modified}, nil); err != nil {
			if errors.Is(err, fs.SkipDir) || errors.Is(err, fs.SkipAll) {
				return nil
			}
			return err
		}
	}
	return nil
}

type fileWriter struct {
	io   *objIO
	name string
	buf  bytes.Buffer
}

func (f *fileWriter) Write(p []byte) (int, error)         { return f.buf.Write(p) }
func (f *fileWriter) ReadFrom(r io.Reader) (int64, error) { return f.buf.ReadFrom(r) }
func (f *fileWriter) Close() error                        { return f.io.WriteFile(f.name, f.buf.Bytes()) }

// memFile is a file read into memory.
type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *memFile) Close() error { return nil }
func (f *memFile) Stat() (fs.FileInfo, error) {
	return fileEntry{name: path.Base(f.name), size: f.size}, nil
}

// fileEntry is the fs.FileInfo and fs.DirEntry of a stored object.
type fileEntry struct {
	name     string
	size     int64
	modified time.Time
}

func (e fileEntry) Name() string               { return e.name }
func (e fileEntry) Size() int64                { return e.size }
func (e fileEntry) Mode() fs.FileMode          { return 0o644 }
func (e fileEntry) ModTime() time.Time         { return e.modified }
func (e fileEntry) IsDir() bool                { return false }
func (e fileEntry) Sys() any                   { return nil }
func (e fileEntry) Type() fs.FileMode          { return 0 }
func (e fileEntry) Info() (fs.FileInfo, error) { return e, nil }
