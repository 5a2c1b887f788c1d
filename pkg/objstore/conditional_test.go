package objstore

import (
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func cond(t *testing.T, b Bucket) Conditional {
	t.Helper()
	c, ok := b.(Conditional)
	if !ok {
		t.Fatalf("%T is not Conditional", b)
	}
	return c
}

func getVersion(t *testing.T, c Conditional, key string) (string, string) {
	t.Helper()
	rc, etag, err := c.GetVersion(t.Context(), key)
	if err != nil {
		t.Fatalf("GetVersion(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data), etag
}

func TestPutIfAbsent(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		c := cond(t, b)
		etag, err := c.PutIf(t.Context(), "p/k.json", strings.NewReader("first"), Cond{IfAbsent: true})
		if err != nil || etag == "" {
			t.Fatalf("first create = %q, %v", etag, err)
		}
		if _, err := c.PutIf(t.Context(), "p/k.json", strings.NewReader("second"), Cond{IfAbsent: true}); !errors.Is(err, ErrPrecondition) {
			t.Fatalf("second create = %v, want ErrPrecondition", err)
		}
		got, gotETag := getVersion(t, c, "p/k.json")
		if got != "first" || gotETag != etag {
			t.Errorf("after a refused create: %q %s, want \"first\" %s", got, gotETag, etag)
		}
		objs, err := b.List(t.Context(), "p/")
		if err != nil || len(objs) != 1 || objs[0].ETag != etag {
			t.Errorf("List = %+v, %v; want one object with ETag %s", objs, err, etag)
		}
	})
}

func TestPutIfMatch(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		c := cond(t, b)
		if _, err := c.PutIf(t.Context(), "k", strings.NewReader("x"), Cond{IfMatch: `"nope"`}); !errors.Is(err, ErrPrecondition) {
			t.Errorf("IfMatch on a missing key = %v, want ErrPrecondition", err)
		}
		e1, err := c.PutIf(t.Context(), "k", strings.NewReader("one"), Cond{})
		if err != nil {
			t.Fatal(err)
		}
		e2, err := c.PutIf(t.Context(), "k", strings.NewReader("two"), Cond{IfMatch: e1})
		if err != nil {
			t.Fatalf("IfMatch with the current ETag = %v", err)
		}
		if _, err := c.PutIf(t.Context(), "k", strings.NewReader("three"), Cond{IfMatch: e1}); !errors.Is(err, ErrPrecondition) {
			t.Errorf("IfMatch with a replaced ETag = %v, want ErrPrecondition", err)
		}
		if got, etag := getVersion(t, c, "k"); got != "two" || etag != e2 {
			t.Errorf("content %q %s, want \"two\" %s", got, etag, e2)
		}
	})
}

func TestDeleteIf(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		c := cond(t, b)
		e1, err := c.PutIf(t.Context(), "k", strings.NewReader("one"), Cond{})
		if err != nil {
			t.Fatal(err)
		}
		e2, err := c.PutIf(t.Context(), "k", strings.NewReader("two"), Cond{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteIf(t.Context(), "k", Cond{IfMatch: e1}); !errors.Is(err, ErrPrecondition) {
			t.Fatalf("DeleteIf with a replaced version = %v, want ErrPrecondition", err)
		}
		if got := mustGet(t, b, "k"); got != "two" {
			t.Fatalf("a refused delete removed the object: %q", got)
		}
		if err := c.DeleteIf(t.Context(), "k", Cond{IfMatch: e2}); err != nil {
			t.Fatalf("DeleteIf with the current version = %v", err)
		}
		if _, err := b.Get(t.Context(), "k"); !errors.Is(err, ErrNotFound) {
			t.Errorf("after DeleteIf Get = %v, want ErrNotFound", err)
		}
		if err := c.DeleteIf(t.Context(), "k", Cond{IfMatch: e2}); err != nil {
			t.Errorf("DeleteIf of a missing key = %v, want nil", err)
		}
	})
}

// TestETagPerWrite: the file and memory stores give every write its own
// version, even for the same content; S3 gives the content's MD5.
func TestETagPerWrite(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		c := cond(t, b)
		e1, err := c.PutIf(t.Context(), "k", strings.NewReader("same"), Cond{})
		if err != nil {
			t.Fatal(err)
		}
		e2, err := c.PutIf(t.Context(), "k", strings.NewReader("same"), Cond{})
		if err != nil {
			t.Fatal(err)
		}
		if _, s3 := b.(*s3Bucket); s3 {
			if e1 != e2 {
				t.Errorf("S3 ETags of the same content differ: %s %s", e1, e2)
			}
			return
		}
		if e1 == e2 {
			t.Errorf("two writes of the same content share the ETag %s", e1)
		}
	})
}

func TestDeadline(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		c := cond(t, b)
		past := time.Now().Add(-time.Second)
		if _, err := c.PutIf(t.Context(), "k", strings.NewReader("late"), Cond{Deadline: past}); !errors.Is(err, ErrExpired) {
			t.Errorf("PutIf past its deadline = %v, want ErrExpired", err)
		}
		if _, err := b.Get(t.Context(), "k"); !errors.Is(err, ErrNotFound) {
			t.Errorf("an expired PutIf stored the object: %v", err)
		}
		future := time.Now().Add(30 * time.Second)
		etag, err := c.PutIf(t.Context(), "k", strings.NewReader("on time"), Cond{IfAbsent: true, Deadline: future})
		if err != nil {
			t.Fatalf("PutIf before its deadline = %v", err)
		}
		if _, err := c.PutIf(t.Context(), "k", strings.NewReader("again"), Cond{IfAbsent: true, Deadline: future}); !errors.Is(err, ErrPrecondition) {
			t.Errorf("second create with a deadline = %v, want ErrPrecondition", err)
		}
		if err := c.DeleteIf(t.Context(), "k", Cond{IfMatch: etag, Deadline: past}); !errors.Is(err, ErrExpired) {
			t.Errorf("DeleteIf past its deadline = %v, want ErrExpired", err)
		}
		if got := mustGet(t, b, "k"); got != "on time" {
			t.Errorf("content %q", got)
		}
		if err := c.DeleteIf(t.Context(), "k", Cond{IfMatch: etag, Deadline: future}); err != nil {
			t.Errorf("DeleteIf before its deadline = %v", err)
		}
		if _, err := b.Get(t.Context(), "k"); !errors.Is(err, ErrNotFound) {
			t.Errorf("after DeleteIf Get = %v", err)
		}
	})
}

// TestCreateRace: of many concurrent creates of one key, exactly one wins.
func TestCreateRace(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		c := cond(t, b)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = c.PutIf(t.Context(), "race", strings.NewReader(strings.Repeat("x", i+1)), Cond{IfAbsent: true})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrPrecondition):
				t.Errorf("create = %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d creates won, want 1", won)
		}
	})
}

func TestListAfter(t *testing.T) {
	forEachStore(t, func(t *testing.T, b Bucket, _ func(string)) {
		for _, k := range []string{"t/p=0/t+0+0000000000.json", "t/p=0/t+0+0000000010.json", "t/p=0/t+0+0000000010.json.gz", "t/p=0/t+0+0000000020.json", "t/p=1/t+1+0000000000.json"} {
			mustPut(t, b, k, "x")
		}
		objs, err := ListAfter(t.Context(), b, "t/p=0/", "t/p=0/t+0+0000000009.json.gz")
		if err != nil {
			t.Fatal(err)
		}
		keys := objectKeys(objs)
		want := []string{"t/p=0/t+0+0000000010.json", "t/p=0/t+0+0000000010.json.gz", "t/p=0/t+0+0000000020.json"}
		if !slices.Equal(keys, want) {
			t.Errorf("ListAfter = %q, want %q", keys, want)
		}
		// Across directories, with a prefix that ends inside a name: the
		// keys sort as strings, whatever directories hold them.
		mustPut(t, b, "t/p=10/x", "x")
		mustPut(t, b, "u/p=0/y", "x")
		for _, c := range []struct {
			prefix, after string
			want          []string
		}{
			{"t/", "t/p=0/t+0+0000000010.json.gz", []string{"t/p=0/t+0+0000000020.json", "t/p=1/t+1+0000000000.json", "t/p=10/x"}},
			{"t/p=1", "", []string{"t/p=1/t+1+0000000000.json", "t/p=10/x"}},
			{"t/p=1", "t/p=1/z", []string{"t/p=10/x"}},
			{"", "t/p=10/", []string{"t/p=10/x", "u/p=0/y"}},
			{"t/p=0/t+0+00000000", "t/p=0/t+0+0000000010.json", []string{"t/p=0/t+0+0000000010.json.gz", "t/p=0/t+0+0000000020.json"}},
		} {
			objs, err := ListAfter(t.Context(), b, c.prefix, c.after)
			if err != nil {
				t.Fatal(err)
			}
			if keys := objectKeys(objs); !slices.Equal(keys, c.want) {
				t.Errorf("ListAfter(%q, %q) = %q, want %q", c.prefix, c.after, keys, c.want)
			}
		}
	})
}
