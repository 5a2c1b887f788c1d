package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// Range is an inclusive range of sequence numbers of one shard.
type Range struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

// Checkpoint is the stored progress of one shard (PROTOCOL.md).
type Checkpoint struct {
	Stream string `json:"stream"`
	Shard  string `json:"shard"`
	// Sequence is the last record whose output files are stored; reading
	// resumes just after it. Empty: nothing stored yet.
	Sequence string `json:"sequence,omitempty"`
	// Closed is true when the shard was read to its end and everything in
	// it is stored: it is never read again, and its children may be read.
	Closed bool `json:"closed,omitempty"`
	// Pending is the range of the flush in progress: its files may be
	// partly stored. The next flush must cover exactly this range.
	Pending *Range `json:"pending,omitempty"`
	// Quality is the cumulative quality of the records up to Sequence,
	// stored with it in one object, so that a replayed flush is never
	// counted twice. Nil: nothing counted yet.
	Quality *clean.TableQuality `json:"quality,omitempty"`
	Updated time.Time           `json:"updated"`
}

// checkpoints stores Checkpoints in a bucket under prefix, one object per shard.
type checkpoints struct {
	b      objstore.Bucket
	prefix string
}

func (c checkpoints) key(stream, shard string) string {
	return objstore.Join(c.prefix, stream, shard+".json")
}

// load returns the checkpoints of every shard of stream, by shard id.
func (c checkpoints) load(ctx context.Context, stream string) (map[string]Checkpoint, error) {
	objs, err := c.b.List(ctx, objstore.Join(c.prefix, stream)+"/")
	if err != nil {
		return nil, fmt.Errorf("listing checkpoints of %s: %w", stream, err)
	}
	out := make(map[string]Checkpoint, len(objs))
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, ".json") {
			continue
		}
		cp, err := c.get(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		out[cp.Shard] = cp
	}
	return out, nil
}

func (c checkpoints) get(ctx context.Context, key string) (Checkpoint, error) {
	rc, err := c.b.Get(ctx, key)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("reading checkpoint %s: %w", c.b.URL(key), err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("reading checkpoint %s: %w", c.b.URL(key), err)
	}
	var cp Checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return Checkpoint{}, fmt.Errorf("decoding checkpoint %s: %w", c.b.URL(key), err)
	}
	if cp.Shard == "" {
		return Checkpoint{}, fmt.Errorf("decoding checkpoint %s: no shard id", c.b.URL(key))
	}
	return cp, nil
}

func (c checkpoints) put(ctx context.Context, cp Checkpoint) error {
	if cp.Stream == "" || cp.Shard == "" {
		return errors.New("checkpoint without stream or shard")
	}
	cp.Updated = time.Now().UTC()
	data, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	key := c.key(cp.Stream, cp.Shard)
	if err := c.b.Put(ctx, key, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("writing checkpoint %s: %w", c.b.URL(key), err)
	}
	return nil
}
