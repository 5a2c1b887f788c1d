package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Memory is an object store in memory, for tests: it implements Bucket,
// Conditional, AfterLister and Copier with the semantics of the S3 store
// (atomic conditional requests, a fresh ETag for every write, deadlines
// checked when the request is applied). Safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	objs    map[string]memObject
	version int64
	now     func() time.Time
	// contentETags makes the ETag the MD5 of the content, as S3's is for a
	// one-part upload, instead of a version number.
	contentETags bool
}

type memObject struct {
	data     []byte
	etag     string
	modified time.Time
}

var (
	_ Conditional = (*Memory)(nil)
	_ AfterLister = (*Memory)(nil)
	_ Copier      = (*Memory)(nil)
)

// NewMemory returns an empty in-memory store whose every write gets its
// own ETag, as on the file store.
func NewMemory() *Memory { return &Memory{objs: map[string]memObject{}, now: time.Now} }

// NewMemoryS3ETags returns an empty in-memory store whose ETags are the
// MD5 of the content, as on S3: two writes of the same content share one.
func NewMemoryS3ETags() *Memory {
	m := NewMemory()
	m.contentETags = true
	return m
}

// URL returns "mem://key".
func (m *Memory) URL(key string) string { return "mem://" + key }

// List implements Reader.
func (m *Memory) List(ctx context.Context, prefix string) ([]Object, error) {
	return m.ListAfter(ctx, prefix, "")
}

// ListAfter implements AfterLister.
func (m *Memory) ListAfter(ctx context.Context, prefix, startAfter string) ([]Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var objs []Object
	for k, o := range m.objs {
		if strings.HasPrefix(k, prefix) && k > startAfter {
			objs = append(objs, Object{Key: k, Size: int64(len(o.data)), ETag: o.etag, Modified: o.modified})
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

// Get implements Reader.
func (m *Memory) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, _, err := m.GetVersion(ctx, key)
	return rc, err
}

// GetVersion implements Conditional.
func (m *Memory) GetVersion(ctx context.Context, key string) (io.ReadCloser, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[key]
	if !ok {
		return nil, "", fmt.Errorf("reading %s: %w", m.URL(key), ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(o.data)), o.etag, nil
}

// Put implements Bucket.
func (m *Memory) Put(ctx context.Context, key string, r io.Reader) error {
	_, err := m.PutIf(ctx, key, r, Cond{})
	return err
}

// PutIf implements Conditional.
func (m *Memory) PutIf(ctx context.Context, key string, r io.Reader, c Cond) (string, error) {
	if key == "" {
		return "", fmt.Errorf("writing %s: empty key", m.URL(key))
	}
	data, err := io.ReadAll(ctxReader{ctx, r})
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", m.URL(key), err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !c.Deadline.IsZero() && !m.now().Before(c.Deadline) {
		return "", fmt.Errorf("writing %s: %w", m.URL(key), ErrExpired)
	}
	cur, exists := m.objs[key]
	if (c.IfAbsent && exists) || (c.IfMatch != "" && (!exists || cur.etag != c.IfMatch)) {
		return "", fmt.Errorf("writing %s: %w", m.URL(key), ErrPrecondition)
	}
	m.version++
	etag := `"v` + strconv.FormatInt(m.version, 10) + `"`
	if m.contentETags {
		etag = fmt.Sprintf(`"%x"`, md5.Sum(data))
	}
	m.objs[key] = memObject{data: data, etag: etag, modified: m.now()}
	return etag, nil
}

// Delete implements Bucket.
func (m *Memory) Delete(ctx context.Context, key string) error {
	return m.DeleteIf(ctx, key, Cond{})
}

// DeleteIf implements Conditional.
func (m *Memory) DeleteIf(ctx context.Context, key string, c Cond) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.IfAbsent {
		return fmt.Errorf("deleting %s: IfAbsent is not a delete condition", m.URL(key))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !c.Deadline.IsZero() && !m.now().Before(c.Deadline) {
		return fmt.Errorf("deleting %s: %w", m.URL(key), ErrExpired)
	}
	cur, exists := m.objs[key]
	if !exists {
		return nil
	}
	if c.IfMatch != "" && cur.etag != c.IfMatch {
		return fmt.Errorf("deleting %s: %w", m.URL(key), ErrPrecondition)
	}
	delete(m.objs, key)
	return nil
}

// Copy implements Copier.
func (m *Memory) Copy(ctx context.Context, srcKey, dstKey string) error {
	rc, err := m.Get(ctx, srcKey)
	if err != nil {
		return fmt.Errorf("copying to %s: %w", m.URL(dstKey), err)
	}
	defer rc.Close()
	return m.Put(ctx, dstKey, rc)
}

// SetClock sets the clock that deadlines are checked against (tests).
func (m *Memory) SetClock(now func() time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = now
}
