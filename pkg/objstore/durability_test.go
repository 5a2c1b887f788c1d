package objstore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingOps records the file system calls of the file store, with paths
// relative to root, and performs them.
type recordingOps struct {
	osOps
	root string
	mu   sync.Mutex
	log  []string
}

func (r *recordingOps) rel(path string) string {
	rel, err := filepath.Rel(r.root, path)
	if err != nil {
		rel = path
	}
	if strings.HasPrefix(filepath.Base(rel), tmpPrefix) {
		rel = filepath.Join(filepath.Dir(rel), "TMP")
	}
	return filepath.ToSlash(rel)
}

func (r *recordingOps) add(op string, paths ...string) {
	rels := make([]string, len(paths))
	for i, p := range paths {
		rels[i] = r.rel(p)
	}
	r.mu.Lock()
	r.log = append(r.log, op+" "+strings.Join(rels, " -> "))
	r.mu.Unlock()
}

func (r *recordingOps) mkdir(dir string) error { r.add("mkdir", dir); return r.osOps.mkdir(dir) }
func (r *recordingOps) syncFile(f *os.File) error {
	r.add("fsync", f.Name())
	return r.osOps.syncFile(f)
}
func (r *recordingOps) syncDir(dir string) error { r.add("fsyncdir", dir); return r.osOps.syncDir(dir) }
func (r *recordingOps) rename(o, n string) error {
	r.add("rename", o, n)
	return r.osOps.rename(o, n)
}
func (r *recordingOps) link(o, n string) error { r.add("link", n); return r.osOps.link(o, n) }
func (r *recordingOps) remove(p string) error  { r.add("remove", p); return r.osOps.remove(p) }

func (r *recordingOps) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.log
	r.log = nil
	return l
}

func newRecorded(t *testing.T) (*fileBucket, *recordingOps) {
	root := filepath.Join(t.TempDir(), "root")
	rec := &recordingOps{root: filepath.Dir(root)}
	return &fileBucket{root: root, ops: rec}, rec
}

// TestFileDurableOrder checks the order of the file system calls that make
// a reported Put, Delete or Rename survive a power loss: the file is synced
// before it is renamed into place, each new directory is synced into its
// parent, and the directory is synced before the call returns.
func TestFileDurableOrder(t *testing.T) {
	b, rec := newRecorded(t)
	ctx := t.Context()
	if err := b.Put(ctx, "a/b/k", strings.NewReader("v")); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mkdir root", "fsyncdir .",
		"mkdir root/a", "fsyncdir root",
		"mkdir root/a/b", "fsyncdir root/a",
		"fsync root/a/b/TMP", "rename root/a/b/TMP -> root/a/b/k", "fsyncdir root/a/b",
	}
	// rename's log line holds both paths; normalise it.
	got := normalise(rec.take())
	if !slices.Equal(got, want) {
		t.Errorf("Put did\n  %q\nwant\n  %q", got, want)
	}
	if _, err := b.PutIf(ctx, "a/b/k2", strings.NewReader("v"), Cond{IfAbsent: true}); err != nil {
		t.Fatal(err)
	}
	got = normalise(rec.take())
	want = []string{"fsync root/a/b/TMP", "link root/a/b/k2", "remove root/a/b/TMP", "fsyncdir root/a/b"}
	if !slices.Equal(got, want) {
		t.Errorf("PutIf(IfAbsent) did\n  %q\nwant\n  %q", got, want)
	}
	if err := b.Delete(ctx, "a/b/k"); err != nil {
		t.Fatal(err)
	}
	got = normalise(rec.take())
	want = []string{"remove root/a/b/k", "fsyncdir root/a/b"}
	if !slices.Equal(got, want) {
		t.Errorf("Delete did\n  %q\nwant\n  %q", got, want)
	}
	if err := b.Put(ctx, "s/x", strings.NewReader("1")); err != nil {
		t.Fatal(err)
	}
	rec.take()
	if err := b.Rename(ctx, "s/", "a/b/"); err != nil {
		t.Fatal(err)
	}
	got = normalise(rec.take())
	// The source moves into a temporary directory, is exchanged with the
	// destination, and both parents are synced before the old content goes.
	if n := len(got); n < 3 || got[n-2] != "fsyncdir root/a" || got[n-1] != "fsyncdir root" {
		t.Errorf("Rename did %q, want it to end by syncing the destination's parent and the source's", got)
	}
}

func normalise(log []string) []string {
	out := make([]string, len(log))
	for i, l := range log {
		out[i] = strings.ReplaceAll(l, "\\", "/")
	}
	return out
}

// TestFileSweep: temporary files of killed writers are removed once old
// enough; a young one (a live writer's) and objects are kept.
func TestFileSweep(t *testing.T) {
	dir := t.TempDir()
	b := newFileBucket(dir)
	mustPut(t, b, "t/p/obj.json", "x")
	old := time.Now().Add(-2 * time.Hour)
	for _, p := range []string{"t/p/" + tmpPrefix + "1", "t/" + tmpPrefix + "old-2/d/f", "t/p/" + tmpPrefix + "young"} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(p, "young") {
			// The temporary file or directory itself is old.
			top := full
			for !strings.HasPrefix(filepath.Base(top), tmpPrefix) {
				top = filepath.Dir(top)
			}
			if err := os.Chtimes(top, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	n, err := b.Sweep(t.Context(), "t/", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("Sweep removed %d, want 2", n)
	}
	var left []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			left = append(left, filepath.ToSlash(rel))
		}
		return nil
	})
	want := []string{"t/p/" + tmpPrefix + "young", "t/p/obj.json"}
	if !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
}

func TestFileConditionalAcrossBuckets(t *testing.T) {
	// Two file stores on one directory (two processes of one host) see
	// each other's versions.
	dir := t.TempDir()
	a, b := newFileBucket(dir), newFileBucket(dir)
	etag, err := a.PutIf(t.Context(), "k", strings.NewReader("a"), Cond{IfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutIf(t.Context(), "k", strings.NewReader("b"), Cond{IfAbsent: true}); err == nil {
		t.Fatal("second store created an existing key")
	}
	if _, err := b.PutIf(t.Context(), "k", strings.NewReader("b"), Cond{IfMatch: etag}); err != nil {
		t.Fatalf("IfMatch with the other store's ETag: %v", err)
	}
	if got := fmt.Sprint(mustGet(t, a, "k")); got != "b" {
		t.Errorf("content %q", got)
	}
}
