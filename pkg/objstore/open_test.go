package objstore

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		url     string
		wantURL string // b.URL("k")
		wantErr string
	}{
		{"s3 with prefix", "s3://bkt/some/prefix/", "s3://bkt/some/prefix/k", ""},
		{"s3 bucket only", "s3://bkt", "s3://bkt/k", ""},
		{"s3 bucket slash", "s3://bkt/", "s3://bkt/k", ""},
		{"file URL", "file:///data/landing", "/data/landing/k", ""},
		{"file URL localhost", "file://localhost/data", "/data/k", ""},
		{"absolute path", "/data/out/", "/data/out/k", ""},
		{"relative path", "out/run", filepath.Join(wd, "out/run/k"), ""},
		{"dot", ".", filepath.Join(wd, "k"), ""},
		{"empty", "", "", "empty URL"},
		{"s3 without bucket", "s3://", "", "has no bucket"},
		{"s3 without bucket with path", "s3:///prefix", "", "has no bucket"},
		{"unknown scheme", "gs://bkt/x", "", `unsupported scheme "gs"`},
		{"http", "http://host/x", "", `unsupported scheme "http"`},
		{"file with host", "file://host/x", "", "absolute path"},
		{"file relative", "file://./x", "", "absolute path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			setAWSEnv(t, "", "", "")
			b, err := Open(t.Context(), tc.url, Options{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Open(%q) error = %v, want it to contain %q", tc.url, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.url, err)
			}
			if got := b.URL("k"); got != tc.wantURL {
				t.Errorf("URL(k) = %q, want %q", got, tc.wantURL)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"zero", Options{}, false},
		{"endpoint", Options{Endpoint: "http://127.0.0.1:9000", MaxAttempts: 3}, false},
		{"negative attempts", Options{MaxAttempts: -1}, true},
		{"endpoint without scheme", Options{Endpoint: "127.0.0.1:9000"}, true},
		{"endpoint ftp", Options{Endpoint: "ftp://host"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.opts.Validate(); (err != nil) != tc.wantErr {
				t.Errorf("Validate() = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}

func TestJoin(t *testing.T) {
	tests := []struct {
		elem []string
		want string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a/b"},
		{[]string{"a/", "/b"}, "a/b"},
		{[]string{"", "a", "", "b", ""}, "a/b"},
		{[]string{"runs", "2024/"}, "runs/2024/"},
		{[]string{"/abs", "x"}, "/abs/x"},
		{[]string{"a", "/", "b"}, "a/b"},
		{[]string{"topics", "pin", "partition=0", "pin+0+0000000000.json"}, "topics/pin/partition=0/pin+0+0000000000.json"},
	}
	for _, tc := range tests {
		if got := Join(tc.elem...); got != tc.want {
			t.Errorf("Join(%q) = %q, want %q", tc.elem, got, tc.want)
		}
	}
}

func TestFileKeyEscape(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(t.Context(), filepath.Join(dir, "root"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "../x", "a/../../x", "a/../b", "/etc/passwd", "./a", "a//b", "a/", ".objstore-tmp-1", "d/.objstore-tmp-x/y"} {
		t.Run(key, func(t *testing.T) {
			if err := b.Put(t.Context(), key, strings.NewReader("x")); err == nil {
				t.Errorf("Put(%q) succeeded", key)
			}
			if _, err := b.Get(t.Context(), key); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("Get(%q) = %v, want a key error", key, err)
			}
			if err := b.Delete(t.Context(), key); err == nil {
				t.Errorf("Delete(%q) succeeded", key)
			}
		})
	}
	if _, err := b.List(t.Context(), "../"); err == nil {
		t.Errorf("List(../) succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("escaping keys wrote %d entries next to the root", len(entries))
	}
}

func TestFileIgnoresTempFiles(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(t.Context(), "file://"+dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, b, "a/x.json", "x")
	for _, p := range []string{"a/.objstore-tmp-123", ".objstore-tmp-old-9/d/y.json"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := listKeys(t, b, ""); !slices.Equal(got, []string{"a/x.json"}) {
		t.Errorf("List = %q, want only a/x.json", got)
	}
	if err := os.Mkdir(filepath.Join(dir, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, b, "emptydir"); len(got) != 0 {
		t.Errorf("List(emptydir) = %q", got)
	}
}

func TestFileRootCreatedOnPut(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	b, err := Open(t.Context(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(t.Context(), b); err != nil {
		t.Errorf("Check of a creatable root = %v", err)
	}
	if got := listKeys(t, b, ""); len(got) != 0 {
		t.Errorf("List of a missing root = %q, want empty", got)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("root exists before the first Put (%v)", err)
	}
	mustPut(t, b, "k", "v")
	if got := mustGet(t, b, "k"); got != "v" {
		t.Errorf("Get = %q", got)
	}
}

func TestFileCheck(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{file, filepath.Join(file, "sub")} {
		b, err := Open(t.Context(), root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(t.Context(), b); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("Check(%s) = %v, want a not-a-directory error", root, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("Check left %d entries, want 1", len(entries))
	}
}

func TestFileRename(t *testing.T) {
	b, err := Open(t.Context(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rn := b.(Renamer)
	mustPut(t, b, "staging/run1/part-0.parquet", "new0")
	mustPut(t, b, "staging/run1/sub/part-1.parquet", "new1")
	// First publish: the destination does not exist yet.
	if err := rn.Rename(t.Context(), "staging/run1/", "out/insights/"); err != nil {
		t.Fatal(err)
	}
	want := []string{"out/insights/part-0.parquet", "out/insights/sub/part-1.parquet"}
	if got := listKeys(t, b, ""); !slices.Equal(got, want) {
		t.Errorf("after first Rename List = %q, want %q", got, want)
	}
	// Second publish replaces the whole destination.
	mustPut(t, b, "staging/run2/part-9.parquet", "new9")
	if err := rn.Rename(t.Context(), "staging/run2", "out/insights"); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, b, ""); !slices.Equal(got, []string{"out/insights/part-9.parquet"}) {
		t.Errorf("after replacing Rename List = %q", got)
	}
	if got := mustGet(t, b, "out/insights/part-9.parquet"); got != "new9" {
		t.Errorf("Get = %q", got)
	}
	tests := []struct {
		name     string
		src, dst string
		notFound bool
	}{
		{"missing source", "staging/none", "out/x", true},
		{"escaping", "../x", "out/x", false},
		{"into itself", "out", "out/insights/y", false},
		{"onto a file", "out/insights", "out/insights/part-9.parquet", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := rn.Rename(t.Context(), tc.src, tc.dst)
			if err == nil || errors.Is(err, ErrNotFound) != tc.notFound {
				t.Errorf("Rename(%q, %q) = %v, want error (not found: %v)", tc.src, tc.dst, err, tc.notFound)
			}
		})
	}
	if got := listKeys(t, b, ""); !slices.Equal(got, []string{"out/insights/part-9.parquet"}) {
		t.Errorf("failed Renames changed the store: %q", got)
	}
}

// TestS3EndpointFromEnv checks that the standard AWS variables suffice: no
// Endpoint option, path-style chosen because an endpoint is configured.
func TestS3EndpointFromEnv(t *testing.T) {
	env := requireS3(t)
	t.Setenv("AWS_ENDPOINT_URL_S3", env.Endpoint)
	b, err := Open(t.Context(), "s3://"+env.Bucket+"/p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	mustPut(t, b, "k", "v")
	if got := mustGet(t, b, "k"); got != "v" {
		t.Errorf("Get = %q", got)
	}
}

func TestS3CheckMissingBucket(t *testing.T) {
	env := requireS3(t)
	b, err := Open(t.Context(), "s3://no-such-bucket-objstore/p", Options{Endpoint: env.Endpoint, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(t.Context(), b); err == nil || !strings.Contains(err.Error(), "no-such-bucket-objstore") {
		t.Errorf("Check = %v, want an error naming the bucket", err)
	}
	if _, err := b.Get(t.Context(), "k"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Get in a missing bucket = %v, want an error that is not ErrNotFound", err)
	}
}
