package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// tmpPrefix starts the names of the file store's own temporary files and
// directories; List skips them and keys may not use them.
const tmpPrefix = ".objstore-tmp-"

// fileBucket stores objects as files under root. Put writes a temporary file
// in the destination directory and renames it, so readers never see a partly
// written object.
type fileBucket struct {
	root string // absolute, clean
}

func newFileBucket(root string) *fileBucket { return &fileBucket{root: root} }

var (
	_ Bucket  = (*fileBucket)(nil)
	_ Copier  = (*fileBucket)(nil)
	_ Renamer = (*fileBucket)(nil)
	_ Checker = (*fileBucket)(nil)
)

// URL returns the file path of key.
func (b *fileBucket) URL(key string) string {
	if key == "" {
		return b.root
	}
	return filepath.Join(b.root, filepath.FromSlash(key))
}

// path checks key and returns its file path. Keys are slash-separated paths
// relative to the root with no ".", ".." or empty elements.
func (b *fileBucket) path(key string) (string, error) {
	if err := checkFileKey(key); err != nil {
		return "", err
	}
	return filepath.Join(b.root, filepath.FromSlash(key)), nil
}

func checkFileKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("key %q is absolute, want a path relative to the store root", key)
	case strings.Contains(key, "\\") && filepath.Separator == '\\':
		return fmt.Errorf("key %q contains a backslash", key)
	case strings.ContainsRune(key, 0):
		return fmt.Errorf("key %q contains a NUL byte", key)
	case !fs.ValidPath(key):
		return fmt.Errorf("key %q has an empty, \".\" or \"..\" element", key)
	}
	for _, elem := range strings.Split(key, "/") {
		if strings.HasPrefix(elem, tmpPrefix) {
			return fmt.Errorf("key %q uses the reserved name prefix %q", key, tmpPrefix)
		}
	}
	return nil
}

// List walks the directory of prefix and returns the files whose key starts
// with prefix, sorted by key.
func (b *fileBucket) List(ctx context.Context, prefix string) ([]Object, error) {
	dir := ""
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dir = prefix[:i]
	}
	start := b.root
	if dir != "" {
		p, err := b.path(dir)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", b.URL(prefix), err)
		}
		start = p
	}
	var objs []Object
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // missing dir or file removed during the walk
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), tmpPrefix) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(b.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		objs = append(objs, Object{Key: key, Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", b.URL(prefix), err)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

// Get opens the file of key.
func (b *fileBucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := b.path(key)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", b.URL(key), err)
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDirSyscall) {
		return nil, fmt.Errorf("reading %s: %w", b.URL(key), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", b.URL(key), err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading %s: %w", b.URL(key), err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("reading %s: %w", b.URL(key), ErrNotFound)
	}
	return f, nil
}

// Put writes r to a temporary file next to key's file, syncs it and renames it
// into place.
func (b *fileBucket) Put(ctx context.Context, key string, r io.Reader) error {
	p, err := b.path(key)
	if err != nil {
		return fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	if err := b.writeAtomic(ctx, p, r); err != nil {
		return fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	return nil
}

func (b *fileBucket) writeAtomic(ctx context.Context, p string, r io.Reader) error {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, ctxReader{ctx, r}); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	ok = true
	return nil
}

// Delete removes key's file; a missing file is not an error.
func (b *fileBucket) Delete(ctx context.Context, key string) error {
	p, err := b.path(key)
	if err != nil {
		return fmt.Errorf("deleting %s: %w", b.URL(key), err)
	}
	info, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDirSyscall) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting %s: %w", b.URL(key), err)
	}
	if info.IsDir() {
		return nil // a "directory" is not an object
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting %s: %w", b.URL(key), err)
	}
	return nil
}

// Copy copies srcKey's file to dstKey through a temporary file and a rename.
func (b *fileBucket) Copy(ctx context.Context, srcKey, dstKey string) error {
	rc, err := b.Get(ctx, srcKey)
	if err != nil {
		return fmt.Errorf("copying to %s: %w", b.URL(dstKey), err)
	}
	defer rc.Close()
	if err := b.Put(ctx, dstKey, rc); err != nil {
		return fmt.Errorf("copying %s: %w", b.URL(srcKey), err)
	}
	return nil
}

// Rename moves the directory srcPrefix to dstPrefix. An existing destination
// directory is swapped out atomically where the platform allows it (Linux
// renameat2 RENAME_EXCHANGE) and then removed; elsewhere it is moved aside
// first, leaving a short moment with no destination.
func (b *fileBucket) Rename(ctx context.Context, srcPrefix, dstPrefix string) error {
	srcKey, dstKey := strings.TrimSuffix(srcPrefix, "/"), strings.TrimSuffix(dstPrefix, "/")
	src, err := b.path(srcKey)
	if err != nil {
		return fmt.Errorf("renaming %s: %w", b.URL(srcPrefix), err)
	}
	dst, err := b.path(dstKey)
	if err != nil {
		return fmt.Errorf("renaming %s to %s: %w", b.URL(srcPrefix), b.URL(dstPrefix), err)
	}
	if src == dst || strings.HasPrefix(dst, src+string(filepath.Separator)) || strings.HasPrefix(src, dst+string(filepath.Separator)) {
		return fmt.Errorf("renaming %s to %s: one contains the other", b.URL(srcPrefix), b.URL(dstPrefix))
	}
	if err := b.rename(src, dst); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", b.URL(srcPrefix), b.URL(dstPrefix), err)
	}
	return nil
}

func (b *fileBucket) rename(src, dst string) error {
	info, err := os.Stat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", src)
	}
	dstInfo, err := os.Lstat(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Rename(src, dst)
	case err != nil:
		return err
	case !dstInfo.IsDir():
		return fmt.Errorf("%s exists and is not a directory", dst)
	}
	// Swap, then remove the old content, now at src's place under a
	// temporary name so that List does not see it.
	old, err := os.MkdirTemp(filepath.Dir(src), tmpPrefix+"old-*")
	if err != nil {
		return err
	}
	if err := os.Rename(src, filepath.Join(old, "d")); err != nil {
		os.Remove(old)
		return err
	}
	moved := filepath.Join(old, "d")
	if err := exchange(moved, dst); err != nil {
		if !errors.Is(err, errExchangeUnsupported) {
			os.Rename(moved, src) // put the source back
			os.Remove(old)
			return err
		}
		// Fallback: move the destination aside, then the source in.
		aside := filepath.Join(old, "old")
		if err := os.Rename(dst, aside); err != nil {
			os.Rename(moved, src)
			os.Remove(old)
			return err
		}
		if err := os.Rename(moved, dst); err != nil {
			os.Rename(aside, dst)
			os.Rename(moved, src)
			os.Remove(old)
			return err
		}
	}
	return os.RemoveAll(old)
}

// Check reports whether the root is a directory (or can be created) and is
// writable. It creates nothing that stays.
func (b *fileBucket) Check(ctx context.Context) error {
	dir := b.root
	for {
		info, err := os.Stat(dir)
		if err == nil {
			if !info.IsDir() {
				return fmt.Errorf("checking %s: %s is not a directory", b.root, dir)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", b.root, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return fmt.Errorf("checking %s: %w", b.root, err)
		}
		dir = parent
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"check-*")
	if err != nil {
		return fmt.Errorf("checking %s: directory %s is not writable: %w", b.root, dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// ctxReader stops a long copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
