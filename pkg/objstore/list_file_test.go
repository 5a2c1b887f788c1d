package objstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCatHelpers(t *testing.T) {
	// Every split of every short string over a small alphabet, against
	// every other: the helpers must agree with the concatenation.
	var words []string
	var gen func(prefix string)
	gen = func(prefix string) {
		words = append(words, prefix)
		if len(prefix) < 3 {
			for _, c := range []string{"a", "b", "/"} {
				gen(prefix + c)
			}
		}
	}
	gen("")
	for _, ab := range words {
		for i := 0; i <= len(ab); i++ {
			a, b := ab[:i], ab[i:]
			for _, s := range words {
				if got, want := compareCat(a, b, s), strings.Compare(ab, s); got != want {
					t.Fatalf("compareCat(%q, %q, %q) = %d, want %d", a, b, s, got, want)
				}
				if got, want := hasPrefixCat(a, b, s), strings.HasPrefix(ab, s); got != want {
					t.Fatalf("hasPrefixCat(%q, %q, %q) = %v, want %v", a, b, s, got, want)
				}
			}
		}
	}
}

// TestFileListLargeDirectory lists a directory larger than one read of its
// entries, with entries that are not objects beside the files.
func TestFileListLargeDirectory(t *testing.T) {
	root := t.TempDir()
	b := newFileBucket(root)
	const n = 2500 // about 100 KB of directory entries: several reads
	dir := filepath.Join(root, "t", "p=0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range n {
		name := fmt.Sprintf("t+0+%010d.json", i)
		want = append(want, "t/p=0/"+name)
		// Written directly: Put syncs each file, and this is about listing.
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "t+0+0000000000.json"), filepath.Join(dir, "t+0+9999999999.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, tmpPrefix+"t+0+9999999998.json"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "t+0+9999999997.json"), 0o755); err != nil { // a directory, empty
		t.Fatal(err)
	}
	objs, err := b.List(t.Context(), "t/")
	if err != nil {
		t.Fatal(err)
	}
	if got := objectKeys(objs); !slices.Equal(got, want) {
		t.Fatalf("List: %d keys, want the %d files (first %q)", len(got), n, got[:min(3, len(got))])
	}
	if objs[7].Size != 1 || objs[7].ETag == "" || objs[7].Modified.IsZero() {
		t.Errorf("List: %+v, want size, ETag and time", objs[7])
	}
	after := want[n-4]
	objs, err = b.ListAfter(t.Context(), "t/p=0/", after)
	if err != nil {
		t.Fatal(err)
	}
	if got := objectKeys(objs); !slices.Equal(got, want[n-3:]) {
		t.Errorf("ListAfter(%q) = %q, want %q", after, got, want[n-3:])
	}

	// Pages in key order, each sorted; a caller stopping early stops it.
	var pages [][]string
	err = b.ListPages(t.Context(), "t/", func(page []Object) error {
		pages = append(pages, objectKeys(page))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 3 || len(pages[0]) != listPage || !slices.Equal(slices.Concat(pages...), want) {
		t.Errorf("ListPages: %d pages, want 3 of the %d keys in order", len(pages), n)
	}
	stop := errors.New("enough")
	calls := 0
	err = b.ListPages(t.Context(), "t/", func(page []Object) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ListPages stopped by its caller: %v after %d pages, want %v after 1", err, calls, stop)
	}
}
