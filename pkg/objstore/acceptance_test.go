package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// storeCase is one implementation under the acceptance suite.
type storeCase struct {
	name string
	// open returns a fresh, empty bucket, and a function that writes an
	// object just outside the bucket's prefix (to check List stays inside).
	open func(t *testing.T) (b Bucket, putOutside func(key string))
}

func stores() []storeCase {
	return []storeCase{
		{
			name: "file",
			open: func(t *testing.T) (Bucket, func(string)) {
				dir := t.TempDir()
				b, err := Open(t.Context(), filepath.Join(dir, "root"), Options{})
				if err != nil {
					t.Fatal(err)
				}
				outside, err := Open(t.Context(), dir, Options{})
				if err != nil {
					t.Fatal(err)
				}
				return b, func(key string) {
					if err := outside.Put(t.Context(), key, strings.NewReader("outside")); err != nil {
						t.Fatal(err)
					}
				}
			},
		},
		{
			name: "memory",
			open: func(t *testing.T) (Bucket, func(string)) {
				return NewMemory(), func(string) {} // one store: nothing is outside it
			},
		},
		{
			name: "s3",
			open: func(t *testing.T) (Bucket, func(string)) {
				env := requireS3(t)
				b, err := Open(t.Context(), "s3://"+env.Bucket+"/root", Options{Endpoint: env.Endpoint})
				if err != nil {
					t.Fatal(err)
				}
				return b, func(key string) {
					_, err := env.Client.PutObject(t.Context(), &s3.PutObjectInput{
						Bucket: aws.String(env.Bucket), Key: aws.String(key), Body: strings.NewReader("outside"),
					})
					if err != nil {
						t.Fatal(err)
					}
				}
			},
		},
	}
}

// forEachStore runs fn against every implementation.
func forEachStore(t *testing.T, fn func(t *testing.T, b Bucket, putOutside func(string))) {
	t.Helper()
	for _, sc := range stores() {
		t.Run(sc.name, func(t *testing.T) {
			b, outside := sc.open(t)
			fn(t, b, outside)
		})
	}
}

func mustPut(t *testing.T, b Bucket, key, content string) {
	t.Helper()
	if err := b.Put(t.Context(), key, strings.NewReader(content)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustGet(t *testing.T, b Bucket, key string) string {
	t.Helper()
	rc, err := b.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return string(data)
}

func listKeys(t *testing.T, b Reader, prefix string) []string {
	t.Helper()
	objs, err := b.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return objectKeys(objs)
}

// objectKeys returns the keys of objs, in order.
func objectKeys(objs []Object) []string {
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

// landingKeys follow the s3sink layout of data.md, with "+", "=" and spaces.
var landingKeys = []string{
	"topics/pin/partition=0/pin+0+0000000000.json",
	"topics/pin/partition=0/pin+0+0000000010.json",
	"topics/pin/partition=1/pin+1+0000000000.json.gz",
	"topics/geo/partition=0/geo+0+0000000000.json",
	"with space/a b.json",
	"top.json",
}

func TestPutGetList(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, putOutside func(string)) {
		putOutside("rootother/x.json") // shares the string prefix "root"
		putOutside("x.json")
		for _, k := range landingKeys {
			mustPut(t, b, k, "content of "+k)
		}
		for _, k := range landingKeys {
			if got, want := mustGet(t, b, k), "content of "+k; got != want {
				t.Errorf("Get(%q) = %q, want %q", k, got, want)
			}
		}
		tests := []struct {
			prefix string
			want   int // number of landingKeys with that prefix
		}{
			{"", 6},
			{"topics/", 4},
			{"topics/pin/partition=0/", 2},
			{"topics/pin/partition=0/pin+0+00000000", 2},
			{"topics/pin/partition=", 3},
			{"with space/", 1},
			{"top", 5},
			{"nothing/", 0},
			{"nothing", 0},
		}
		for _, tc := range tests {
			var want []string
			for _, k := range slices.Sorted(slices.Values(landingKeys)) {
				if strings.HasPrefix(k, tc.prefix) {
					want = append(want, k)
				}
			}
			got := listKeys(t, b, tc.prefix)
			if len(got) != tc.want || !slices.Equal(got, want) {
				t.Errorf("List(%q) = %q, want %q", tc.prefix, got, want)
			}
		}
		objs, err := b.List(t.Context(), "top.json")
		if err != nil || len(objs) != 1 || objs[0].Size != int64(len("content of top.json")) {
			t.Errorf("List(top.json) = %+v, %v; want one object of size %d", objs, err, len("content of top.json"))
		}
	})
}

func TestListOrder(t *testing.T) {
	// Byte order of whole keys, not a per-directory walk order: '+' (0x2b)
	// and '-' (0x2d) sort before '/' (0x2f), '=' (0x3d) after.
	keys := []string{"a/b", "a+b", "a=b", "a-b", "a b", "a.b", "A", "b", "a/a/z", "a0"}
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		for _, k := range keys {
			mustPut(t, b, k, k)
		}
		want := slices.Sorted(slices.Values(keys))
		if got := listKeys(t, b, ""); !slices.Equal(got, want) {
			t.Errorf("List = %q, want %q", got, want)
		}
	})
}

func TestOverwrite(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		mustPut(t, b, "k/v.json", "first, longer content")
		mustPut(t, b, "k/v.json", "second")
		if got := mustGet(t, b, "k/v.json"); got != "second" {
			t.Errorf("Get after overwrite = %q, want %q", got, "second")
		}
		if got := listKeys(t, b, ""); !slices.Equal(got, []string{"k/v.json"}) {
			t.Errorf("List after overwrite = %q", got)
		}
	})
}

func TestGetMissing(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		mustPut(t, b, "dir/file", "x")
		for _, key := range []string{"missing", "dir/missing", "missing/dir/file", "dir"} {
			_, err := b.Get(t.Context(), key)
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("Get(%q) error = %v, want ErrNotFound", key, err)
				continue
			}
			if !strings.Contains(err.Error(), b.URL(key)) {
				t.Errorf("Get(%q) error %q does not name %s", key, err, b.URL(key))
			}
		}
	})
}

func TestDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		if err := b.Delete(t.Context(), "missing/key"); err != nil {
			t.Errorf("Delete(missing) = %v, want nil", err)
		}
		mustPut(t, b, "a/b", "x")
		mustPut(t, b, "a/c", "y")
		if err := b.Delete(t.Context(), "a/b"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Get(t.Context(), "a/b"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after Delete = %v, want ErrNotFound", err)
		}
		if got := listKeys(t, b, ""); !slices.Equal(got, []string{"a/c"}) {
			t.Errorf("List after Delete = %q", got)
		}
		if err := b.Delete(t.Context(), "a/b"); err != nil {
			t.Errorf("second Delete = %v, want nil", err)
		}
	})
}

func TestCopy(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		c, ok := b.(Copier)
		if !ok {
			t.Fatalf("%T does not implement Copier", b)
		}
		src := "topics/pin/partition=0/pin+0+0000000000.json"
		mustPut(t, b, src, "pins")
		for _, dst := range []string{"copy/pin+0+0000000000.json", "copy/with space=1+2", src + ".bak"} {
			if err := c.Copy(t.Context(), src, dst); err != nil {
				t.Fatalf("Copy to %q: %v", dst, err)
			}
			if got := mustGet(t, b, dst); got != "pins" {
				t.Errorf("Get(%q) = %q, want %q", dst, got, "pins")
			}
		}
		mustPut(t, b, "copy/with space=1+2", "old")
		if err := c.Copy(t.Context(), src, "copy/with space=1+2"); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, b, "copy/with space=1+2"); got != "pins" {
			t.Errorf("Copy over existing: got %q", got)
		}
		if err := c.Copy(t.Context(), "missing", "dst"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Copy(missing) = %v, want ErrNotFound", err)
		}
	})
}

func TestPutReaders(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		tests := []struct {
			name string
			r    func() io.Reader
			want string
		}{
			{"empty", func() io.Reader { return strings.NewReader("") }, ""},
			{"not seekable", func() io.Reader { return io.MultiReader(strings.NewReader("ab"), strings.NewReader("cd")) }, "abcd"},
			{"seekable mid-way", func() io.Reader {
				r := strings.NewReader("skipped|kept")
				r.Seek(8, io.SeekStart)
				return r
			}, "kept"},
			{"big", func() io.Reader { return bytes.NewReader(big) }, string(big)},
			{"big via pipe", func() io.Reader {
				pr, pw := io.Pipe()
				go func() { pw.CloseWithError(writeChunks(pw, big)) }()
				return pr
			}, string(big)},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				key := "readers/" + tc.name
				if err := b.Put(t.Context(), key, tc.r()); err != nil {
					t.Fatal(err)
				}
				if got := mustGet(t, b, key); got != tc.want {
					t.Errorf("Get = %d bytes, want %d", len(got), len(tc.want))
				}
			})
		}
		// A failing reader stores nothing.
		err := b.Put(t.Context(), "readers/failing", io.MultiReader(strings.NewReader("part"), errReader{}))
		if err == nil {
			t.Errorf("Put of a failing reader succeeded")
		}
		if _, err := b.Get(t.Context(), "readers/failing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after failed Put = %v, want ErrNotFound", err)
		}
	})
}

func writeChunks(w io.Writer, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), 7919)
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("reader broke") }

// TestManyKeys checks a List that spans pages (S3 pages hold 1000 keys).
func TestManyKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		const n = 1100
		want := make([]string, n)
		for i := range want {
			want[i] = fmt.Sprintf("many/partition=%d/obj+%d+%010d.json", i%3, i%3, i)
		}
		putAll(t, b, want, func(k string) string { return k })
		slices.Sort(want)
		got := listKeys(t, b, "many/")
		if !slices.Equal(got, want) {
			t.Fatalf("List: %d keys, want %d (first diff at %d)", len(got), len(want), firstDiff(got, want))
		}
	})
}

// putAll writes keys with a few workers.
func putAll(t *testing.T, b Bucket, keys []string, content func(string) string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	work := make(chan string)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range 8 {
		wg.Go(func() {
			for k := range work {
				if err := b.Put(ctx, k, strings.NewReader(content(k))); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
	for _, k := range keys {
		if ctx.Err() != nil {
			break
		}
		work <- k
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestGetStreams(t *testing.T) {
	data := make([]byte, 3<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		if err := b.Put(t.Context(), "big.bin", bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		rc, err := b.Get(t.Context(), "big.bin")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		// Read in odd-sized pieces.
		var got bytes.Buffer
		buf := make([]byte, 4093)
		for {
			n, err := rc.Read(buf)
			got.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Errorf("Get returned %d bytes, want %d identical", got.Len(), len(data))
		}
	})
}

func TestURL(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		if _, mem := b.(*Memory); mem {
			t.Skip("the memory store has no root URL")
		}
		u := b.URL("a/b+0=1.json")
		if !strings.HasSuffix(u, "/root/a/b+0=1.json") {
			t.Errorf("URL = %q, want it to end with /root/a/b+0=1.json", u)
		}
		if err := Check(t.Context(), b); err != nil {
			t.Errorf("Check = %v", err)
		}
	})
}

func TestListDirs(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, putOutside func(string)) {
		for _, k := range []string{"t/partition=0/a", "t/partition=0/b", "t/partition=10/a", "t/partition=2/x/y", "t/file", "u/partition=5/a"} {
			mustPut(t, b, k, k)
		}
		putOutside("t/partition=9/a")
		got, err := ListDirs(t.Context(), b, "t/")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"partition=0", "partition=10", "partition=2"}; !slices.Equal(got, want) {
			t.Errorf("ListDirs(t/) = %q, want %q", got, want)
		}
		if got, err := ListDirs(t.Context(), b, "missing/"); err != nil || len(got) != 0 {
			t.Errorf("ListDirs(missing/) = %q, %v; want none, no error", got, err)
		}
	})
}
