package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// tmpPrefix starts the names of the file store's own temporary files and
// directories; List skips them and keys may not use them.
const tmpPrefix = ".objstore-tmp-"

// TempPrefix starts the names of the file store's temporary files (a
// killed writer's stay until Sweep removes them); listings skip them.
const TempPrefix = tmpPrefix

// fileBucket stores objects as files under root.
//
// Durability: a write goes to a temporary file in the destination
// directory, which is synced, then renamed (or linked, for Cond.IfAbsent)
// into place, and the directory is synced before the write returns; a
// directory the write creates is synced into its parent first. A delete
// syncs the directory too. So an object Put reported is still there after a
// power loss, and one Delete reported is gone. Killed writers leave
// temporary files, which List ignores and Sweep removes.
type fileBucket struct {
	root string // absolute, clean
	ops  fsOps
}

func newFileBucket(root string) *fileBucket { return &fileBucket{root: root, ops: osOps{}} }

var (
	_ Bucket      = (*fileBucket)(nil)
	_ Conditional = (*fileBucket)(nil)
	_ AfterLister = (*fileBucket)(nil)
	_ PageLister  = (*fileBucket)(nil)
	_ Copier      = (*fileBucket)(nil)
	_ Renamer     = (*fileBucket)(nil)
	_ Checker     = (*fileBucket)(nil)
	_ Sweeper     = (*fileBucket)(nil)
)

// fsOps are the file system calls whose order makes the store durable;
// tests record them.
type fsOps interface {
	mkdir(dir string) error
	syncFile(f *os.File) error
	syncDir(dir string) error
	rename(oldpath, newpath string) error
	link(oldpath, newpath string) error
	remove(path string) error
}

type osOps struct{}

func (osOps) mkdir(dir string) error               { return os.Mkdir(dir, 0o755) }
func (osOps) syncFile(f *os.File) error            { return f.Sync() }
func (osOps) rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
func (osOps) link(oldpath, newpath string) error   { return os.Link(oldpath, newpath) }
func (osOps) remove(path string) error             { return os.Remove(path) }

func (osOps) syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// URL returns the file path of key.
func (b *fileBucket) URL(key string) string {
	if key == "" {
		return b.root
	}
	return filepath.Join(b.root, filepath.FromSlash(key))
}

// entryType is what a directory entry is, when the directory says.
type entryType uint8

const (
	entryUnknown entryType = iota // the file system does not say: lstat it
	entryFile                     // a regular file
	entryDir
	entryOther // a symbolic link, a device, ...: not an object
)

// walk appends to keys the keys of the files under the directory p, whose
// key is dir ("" for the root), that have prefix and sort after startAfter,
// in no order. A directory whose keys all sort before startAfter, or that
// cannot hold the prefix, is not read, and only the names that qualify are
// kept: a listing after the last key read costs the directory's names, not
// a stat (or a string) for each of its files. Where the directory does not
// tell files from directories, the qualifying names are looked at (lstat).
func (b *fileBucket) walk(ctx context.Context, p, dir, prefix, startAfter string, keys *[]string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	base := "" // key of an entry: base + its name
	if dir != "" {
		base = dir + "/"
	}
	var subdirs []string
	err := readNames(p, func(name string, typ entryType) error {
		if typ == entryOther || strings.HasPrefix(name, tmpPrefix) {
			return nil
		}
		// As a file: the key has the prefix and sorts after startAfter.
		fileCanMatch := hasPrefixCat(base, name, prefix) && compareCat(base, name, startAfter) > 0
		if typ == entryFile {
			if fileCanMatch {
				*keys = append(*keys, base+name)
			}
			return nil
		}
		// As a directory: keys under key/ can have the prefix, and not all
		// sort before startAfter.
		key := base + name
		sub := key + "/"
		dirCanMatch := (strings.HasPrefix(sub, prefix) || strings.HasPrefix(prefix, sub)) &&
			!(sub < startAfter && !strings.HasPrefix(startAfter, sub))
		if !dirCanMatch && !fileCanMatch {
			return nil
		}
		if typ == entryUnknown {
			info, err := os.Lstat(filepath.Join(p, name))
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return nil // removed since
			case err != nil:
				return err
			case info.IsDir():
				typ = entryDir
			case info.Mode().IsRegular():
				typ = entryFile
			default:
				return nil
			}
		}
		switch {
		case typ == entryDir && dirCanMatch:
			subdirs = append(subdirs, key)
		case typ == entryFile && fileCanMatch:
			*keys = append(*keys, key)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil // missing dir, or removed during the walk
	}
	if err != nil {
		return err
	}
	// Read once this directory is closed: a deep tree holds one open at a time.
	for _, sub := range subdirs {
		if err := b.walk(ctx, filepath.Join(p, sub[len(base):]), sub, prefix, startAfter, keys); err != nil {
			return err
		}
	}
	return nil
}

// compareCat compares a+b with s, without making a+b.
func compareCat(a, b, s string) int {
	if len(s) < len(a) {
		if c := strings.Compare(a[:len(s)], s); c != 0 {
			return c
		}
		return 1 // s is a proper prefix of a+b
	}
	if c := strings.Compare(a, s[:len(a)]); c != 0 {
		return c
	}
	return strings.Compare(b, s[len(a):])
}

// hasPrefixCat reports whether a+b starts with p, without making a+b.
func hasPrefixCat(a, b, p string) bool {
	if len(p) <= len(a) {
		return strings.HasPrefix(a, p)
	}
	return strings.HasPrefix(p, a) && strings.HasPrefix(b, p[len(a):])
}

// list returns the keys under prefix that sort after startAfter, sorted.
func (b *fileBucket) list(ctx context.Context, prefix, startAfter string) ([]string, error) {
	dir := ""
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dir = prefix[:i]
	}
	start := b.root
	if dir != "" {
		p, err := b.path(dir)
		if err != nil {
			return nil, err
		}
		start = p
	}
	var keys []string
	if err := b.walk(ctx, start, filepath.ToSlash(dir), prefix, startAfter, &keys); err != nil {
		return nil, err
	}
	slices.Sort(keys)
	return keys, nil
}

// objects returns the objects of keys that are still files, in order.
func (b *fileBucket) objects(ctx context.Context, keys []string) ([]Object, error) {
	objs := make([]Object, 0, len(keys))
	for i, key := range keys {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		info, err := os.Lstat(b.URL(key))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since
		}
		if err != nil {
			return nil, err
		}
		if info.Mode().IsRegular() {
			objs = append(objs, Object{Key: key, Size: info.Size(), ETag: fileETag(info), Modified: info.ModTime()})
		}
	}
	return objs, nil
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

// fileETag names the version of a file: its inode, modification time and
// size. A write makes a new file (a temporary file renamed into place), so
// two writes never share an ETag, even with the same content.
func fileETag(info fs.FileInfo) string {
	var ino uint64
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		ino = uint64(st.Ino)
	}
	return fmt.Sprintf("%x-%x-%x", ino, info.ModTime().UnixNano(), info.Size())
}

// List walks the directory of prefix and returns the files whose key starts
// with prefix, sorted by key.
func (b *fileBucket) List(ctx context.Context, prefix string) ([]Object, error) {
	return b.ListAfter(ctx, prefix, "")
}

// ListAfter implements AfterLister: it walks the directory of prefix and
// keeps the keys after startAfter.
func (b *fileBucket) ListAfter(ctx context.Context, prefix, startAfter string) ([]Object, error) {
	keys, err := b.list(ctx, prefix, startAfter)
	var objs []Object
	if err == nil {
		objs, err = b.objects(ctx, keys)
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", b.URL(prefix), err)
	}
	return objs, nil
}

// listPage is the number of objects in a page of ListPages.
const listPage = 1000

// ListPages implements PageLister: it reads the names under prefix, then
// looks at the files (their size and version) a page at a time, in key
// order, so that a caller that stops early has not looked at the rest.
func (b *fileBucket) ListPages(ctx context.Context, prefix string, fn func([]Object) error) error {
	keys, err := b.list(ctx, prefix, "")
	if err != nil {
		return fmt.Errorf("listing %s: %w", b.URL(prefix), err)
	}
	for page := range slices.Chunk(keys, listPage) {
		objs, err := b.objects(ctx, page)
		if err != nil {
			return fmt.Errorf("listing %s: %w", b.URL(prefix), err)
		}
		if len(objs) > 0 {
			if err := fn(objs); err != nil {
				return err
			}
		}
	}
	return nil
}

// Get opens the file of key.
func (b *fileBucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, _, err := b.GetVersion(ctx, key)
	return rc, err
}

// GetVersion implements Conditional.
func (b *fileBucket) GetVersion(ctx context.Context, key string) (io.ReadCloser, string, error) {
	p, err := b.path(key)
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", b.URL(key), err)
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDirSyscall) {
		return nil, "", fmt.Errorf("reading %s: %w", b.URL(key), ErrNotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", b.URL(key), err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, "", fmt.Errorf("reading %s: %w", b.URL(key), err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, "", fmt.Errorf("reading %s: %w", b.URL(key), ErrNotFound)
	}
	return f, fileETag(info), nil
}

// Put writes r to a temporary file next to key's file, syncs it, renames it
// into place and syncs the directory.
func (b *fileBucket) Put(ctx context.Context, key string, r io.Reader) error {
	_, err := b.PutIf(ctx, key, r, Cond{})
	return err
}

// PutIf implements Conditional. The condition is checked and the file
// moved into place under a lock of its directory (flock), so conditional
// writers in other processes of the same host are serialised too.
func (b *fileBucket) PutIf(ctx context.Context, key string, r io.Reader, c Cond) (string, error) {
	p, err := b.path(key)
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	etag, err := b.writeAtomic(ctx, p, r, c)
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	return etag, nil
}

func (b *fileBucket) writeAtomic(ctx context.Context, p string, r io.Reader, c Cond) (string, error) {
	if !c.Deadline.IsZero() && !time.Now().Before(c.Deadline) {
		return "", ErrExpired
	}
	dir := filepath.Dir(p)
	if err := b.mkdirAll(dir); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	placed := false
	defer func() {
		if f != nil {
			f.Close()
		}
		if !placed {
			os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, ctxReader{ctx, r}); err != nil {
		return "", err
	}
	if err := f.Chmod(0o644); err != nil {
		return "", err
	}
	if err := b.ops.syncFile(f); err != nil {
		return "", err
	}
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	etag := fileETag(info)
	if err := f.Close(); err != nil {
		f = nil
		return "", err
	}
	f = nil
	conditional := c.IfAbsent || c.IfMatch != "" || !c.Deadline.IsZero()
	if conditional {
		unlock, err := lockDir(dir)
		if err != nil {
			return "", err
		}
		defer unlock()
		if !c.Deadline.IsZero() && !time.Now().Before(c.Deadline) {
			return "", ErrExpired
		}
	}
	switch {
	case c.IfAbsent:
		// link fails when the name exists: create-if-absent in one step.
		if err := b.ops.link(tmp, p); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return "", ErrPrecondition
			}
			return "", err
		}
		placed = true
		if err := b.ops.remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	case c.IfMatch != "":
		cur, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && fileETag(cur) != c.IfMatch) {
			return "", ErrPrecondition
		}
		if err != nil {
			return "", err
		}
		fallthrough
	default:
		if err := b.ops.rename(tmp, p); err != nil {
			return "", err
		}
		placed = true
	}
	if err := b.ops.syncDir(dir); err != nil {
		return "", err
	}
	return etag, nil
}

// mkdirAll creates dir and its missing parents, syncing each parent that
// gets a new entry, so that the new directories survive a power loss.
func (b *fileBucket) mkdirAll(dir string) error {
	info, err := os.Stat(dir)
	if err == nil {
		if !info.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := b.mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := b.ops.mkdir(dir); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	// Also when another writer created it: it may not have synced yet.
	return b.ops.syncDir(parent)
}

// Delete removes key's file and syncs its directory; a missing file is not
// an error.
func (b *fileBucket) Delete(ctx context.Context, key string) error {
	return b.DeleteIf(ctx, key, Cond{})
}

// DeleteIf implements Conditional.
func (b *fileBucket) DeleteIf(ctx context.Context, key string, c Cond) error {
	if c.IfAbsent {
		return fmt.Errorf("deleting %s: IfAbsent is not a delete condition", b.URL(key))
	}
	p, err := b.path(key)
	if err != nil {
		return fmt.Errorf("deleting %s: %w", b.URL(key), err)
	}
	if err := b.deleteFile(p, c); err != nil {
		return fmt.Errorf("deleting %s: %w", b.URL(key), err)
	}
	return nil
}

func (b *fileBucket) deleteFile(p string, c Cond) error {
	dir := filepath.Dir(p)
	if c.IfMatch != "" || !c.Deadline.IsZero() {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDirSyscall) {
			return nil
		}
		unlock, err := lockDir(dir)
		if err != nil {
			return err
		}
		defer unlock()
		if !c.Deadline.IsZero() && !time.Now().Before(c.Deadline) {
			return ErrExpired
		}
	}
	info, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDirSyscall) {
		return nil
	}
	if err != nil {
		return err
	}
	if info.IsDir() {
		return nil // a "directory" is not an object
	}
	if c.IfMatch != "" && fileETag(info) != c.IfMatch {
		return ErrPrecondition
	}
	if err := b.ops.remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return b.ops.syncDir(dir)
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
// first, leaving a short moment with no destination. The directories whose
// entries change are synced before Rename returns.
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
	srcParent, dstParent := filepath.Dir(src), filepath.Dir(dst)
	syncParents := func() error {
		if err := b.ops.syncDir(dstParent); err != nil {
			return err
		}
		if srcParent != dstParent {
			return b.ops.syncDir(srcParent)
		}
		return nil
	}
	dstInfo, err := os.Lstat(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := b.mkdirAll(dstParent); err != nil {
			return err
		}
		if err := b.ops.rename(src, dst); err != nil {
			return err
		}
		return syncParents()
	case err != nil:
		return err
	case !dstInfo.IsDir():
		return fmt.Errorf("%s exists and is not a directory", dst)
	}
	// Swap, then remove the old content, now at src's place under a
	// temporary name so that List does not see it (Sweep removes it if
	// this process dies before).
	old, err := os.MkdirTemp(srcParent, tmpPrefix+"old-*")
	if err != nil {
		return err
	}
	moved := filepath.Join(old, "d")
	if err := b.ops.rename(src, moved); err != nil {
		os.Remove(old)
		return err
	}
	if err := exchange(moved, dst); err != nil {
		if !errors.Is(err, errExchangeUnsupported) {
			os.Rename(moved, src) // put the source back
			os.Remove(old)
			return err
		}
		// Fallback: move the destination aside, then the source in.
		aside := filepath.Join(old, "old")
		if err := b.ops.rename(dst, aside); err != nil {
			os.Rename(moved, src)
			os.Remove(old)
			return err
		}
		if err := b.ops.rename(moved, dst); err != nil {
			os.Rename(aside, dst)
			os.Rename(moved, src)
			os.Remove(old)
			return err
		}
	}
	if err := b.ops.syncDir(old); err != nil {
		return err
	}
	if err := syncParents(); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// Sweep implements Sweeper: it removes the temporary files and directories
// under the directory of prefix that a killed writer left, when older than
// olderThan (a live writer's are younger).
func (b *fileBucket) Sweep(ctx context.Context, prefix string, olderThan time.Duration) (int, error) {
	start := b.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 && prefix[:i] != "" {
		p, err := b.path(prefix[:i])
		if err != nil {
			return 0, fmt.Errorf("sweeping %s: %w", b.URL(prefix), err)
		}
		start = p
	}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if err := os.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		n++
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("sweeping %s: %w", b.URL(prefix), err)
	}
	return n, nil
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

// ListDirs implements DirLister: the subdirectories of prefix's directory.
func (b *fileBucket) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := b.root
	if p := strings.TrimSuffix(prefix, "/"); p != "" {
		var err error
		if dir, err = b.path(p); err != nil {
			return nil, fmt.Errorf("listing %s: %w", b.URL(prefix), err)
		}
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", b.URL(prefix), err)
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), tmpPrefix) {
			dirs = append(dirs, e.Name())
		}
	}
	return dirs, nil // os.ReadDir sorts by name
}
