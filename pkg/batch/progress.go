package batch

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// Properties of the clean tables that a run commits together with their
// rows, so that the state and what it was made from never disagree.
const (
	// PropProgress holds the topic's progress (TopicProgress, JSON).
	PropProgress = "pinpipe.progress"
	// PropQualityTotal holds the running totals of the table's quality
	// report (clean.TableQuality, JSON): every line read by every run since
	// the last --full one.
	PropQualityTotal = "pinpipe.quality-total"
	// PropPendingQuarantine lists the quarantine files of the runs that
	// committed this table but maybe not yet batch_quarantine (JSON).
	PropPendingQuarantine = "pinpipe.pending-quarantine"
)

// progressVersion is the version of TopicProgress this code reads and writes.
const progressVersion = 1

// relist is the number of the last objects of a partition (in offset order,
// below its first gap) that every run lists again: an object that is stored
// again under its key (a sink re-cutting the objects it had not committed:
// s3sink has at most 16 in flight per partition) is read again when its size
// or version changed.
const relist = 32

// TopicProgress is what the runs have read of one topic, committed with the
// topic's clean table (PropProgress).
type TopicProgress struct {
	Version    int                     `json:"version"`
	Topic      string                  `json:"topic"`
	Partitions map[int32]*PartProgress `json:"partitions"`
}

// PartProgress is what the runs have read of one partition. Every offset in
// [Base, Next) is in an object already read; Tail are the read objects a run
// lists again: the last ones below Next and every one above it (after a gap:
// an object not landed yet); Below are the read objects that start below
// Base (landed after the first run that read the partition).
type PartProgress struct {
	Base  int64        `json:"base"`
	Next  int64        `json:"next"`
	Tail  []ReadObject `json:"tail"`
	Below []ReadObject `json:"below,omitempty"`
}

// ReadObject is an object a run read.
type ReadObject struct {
	Key   string `json:"key"`
	Start int64  `json:"start"`
	Lines int64  `json:"lines"`
	Size  int64  `json:"size"`
	ETag  string `json:"etag,omitempty"`
}

// same reports whether o is the object that was read as r (not stored again since).
func (r ReadObject) same(o objstore.Object) bool {
	return r.Key == o.Key && r.Size == o.Size && r.ETag == o.ETag
}

// parseProgress reads the progress property of a clean table; a table with
// none has none (nil).
func parseProgress(table, raw, topic string) (*TopicProgress, error) {
	if raw == "" {
		return nil, nil
	}
	var p TopicProgress
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return nil, fmt.Errorf("table %s: property %s is not valid progress (%w): run with --full to rebuild the state", table, PropProgress, err)
	}
	if p.Version != progressVersion {
		return nil, fmt.Errorf("table %s: progress of version %d, this pinpipe reads version %d: upgrade pinpipe, or run with --full to rebuild the state", table, p.Version, progressVersion)
	}
	if p.Topic != topic {
		return nil, fmt.Errorf("table %s holds the state of topic %s, not %s: use the prefix it was made with, or another namespace", table, p.Topic, topic)
	}
	return &p, nil
}

// Gap is a range of offsets of a partition not landed yet, with objects
// after it already read.
type Gap struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	From      int64  `json:"from"`
	To        int64  `json:"to"` // exclusive: the start of the next object read
}

func (g Gap) String() string {
	return fmt.Sprintf("%s partition %d offsets [%d, %d)", g.Topic, g.Partition, g.From, g.To)
}

// advance returns the progress of the topic after a run read the objects
// read (with their line counts).
// With closeGaps, the gaps found are closed: their offsets are taken as
// never to land, and are reported all the same.
func (p *TopicProgress) advance(topic string, read map[int32][]ReadObject, closeGaps bool) (*TopicProgress, []Gap) {
	out := &TopicProgress{Version: progressVersion, Topic: topic, Partitions: map[int32]*PartProgress{}}
	var gaps []Gap
	parts := map[int32]bool{}
	if p != nil {
		for k := range p.Partitions {
			parts[k] = true
		}
	}
	for k := range read {
		parts[k] = true
	}
	for _, part := range slices.Sorted(maps.Keys(parts)) {
		var old *PartProgress
		if p != nil {
			old = p.Partitions[part]
		}
		np, gap := old.advance(read[part], closeGaps)
		if np == nil {
			continue
		}
		out.Partitions[part] = np
		if gap != nil {
			gap.Topic, gap.Partition = topic, part
			gaps = append(gaps, *gap)
		}
	}
	return out, gaps
}

// advance returns the progress of a partition after a run read objects read
// (pp is nil for a partition no run read before). The tail keeps objects
// deleted from the store since: the next listing starts from them all the
// same.
func (pp *PartProgress) advance(read []ReadObject, closeGaps bool) (*PartProgress, *Gap) {
	if pp == nil && len(read) == 0 {
		return nil, nil
	}
	byKey := map[string]ReadObject{}
	var below []ReadObject
	np := &PartProgress{}
	if pp != nil {
		*np = PartProgress{Base: pp.Base, Next: pp.Next}
		for _, o := range pp.Tail {
			byKey[o.Key] = o
		}
		below = slices.Clone(pp.Below)
	}
	for _, o := range read {
		if pp != nil && o.Start < pp.Base {
			below = slices.DeleteFunc(below, func(b ReadObject) bool { return b.Key == o.Key })
			below = append(below, o)
			continue
		}
		byKey[o.Key] = o
	}
	all := slices.Collect(maps.Values(byKey))
	slices.SortFunc(all, func(a, b ReadObject) int { return cmp.Or(cmp.Compare(a.Start, b.Start), strings.Compare(a.Key, b.Key)) })
	if pp == nil {
		np.Base, np.Next = all[0].Start, all[0].Start
	}
	n := 0 // objects at or below Next: contiguous
	var gap *Gap
	for _, o := range all {
		if o.Start > np.Next {
			if !closeGaps {
				break
			}
			if gap == nil {
				gap = &Gap{From: np.Next, To: o.Start}
			}
		}
		np.Next = max(np.Next, o.Start+o.Lines)
		n++
	}
	np.Tail = slices.Clone(all[max(0, n-relist):])
	slices.SortFunc(below, func(a, b ReadObject) int { return strings.Compare(a.Key, b.Key) })
	np.Below = below
	if n < len(all) {
		return np, &Gap{From: np.Next, To: all[n].Start}
	}
	return np, gap
}

// errEnough stops a listing early.
var errEnough = errors.New("listed enough")

// listPartition lists the objects of a partition that a run must consider:
// everything when pp is nil; else the objects from the first of the tail on
// (keys sort by start offset) and those starting below Base. keep reports
// the objects already read (unchanged), which are not returned; listed gets
// nothing else.
func listPartition(ctx context.Context, in objstore.Reader, topic string, part int32, pp *PartProgress) (objs []objstore.Object, err error) {
	dir := landing.PartitionDir(topic, part)
	if pp == nil || len(pp.Tail) == 0 {
		return objstore.ListAfter(ctx, in, dir, "")
	}
	from := pp.Tail[0].Start
	after, ok := landing.StartAfter(topic, part, from)
	if !ok {
		after = ""
	}
	tail, err := objstore.ListAfter(ctx, in, dir, after)
	if err != nil {
		return nil, err
	}
	read := map[string]ReadObject{}
	for _, o := range pp.Tail {
		read[o.Key] = o
	}
	for _, o := range pp.Below {
		read[o.Key] = o
	}
	for _, o := range tail {
		if k, err := landing.ParseKey(o.Key); err == nil && k.Start < from {
			continue // only when the offsets outgrow the key's digits
		}
		if r, ok := read[o.Key]; ok && r.same(o) {
			continue
		}
		objs = append(objs, o)
	}
	if pp.Base > 0 {
		// Objects that start below Base: the first keys of the partition.
		stop := func(page []objstore.Object) error {
			for _, o := range page {
				k, err := landing.ParseKey(o.Key)
				if err != nil {
					objs = append(objs, o) // reported as not in the layout
					continue
				}
				if k.Start >= pp.Base {
					return errEnough
				}
				if r, ok := read[o.Key]; ok && r.same(o) {
					continue
				}
				objs = append(objs, o)
			}
			return nil
		}
		if pl, ok := in.(objstore.PageLister); ok {
			err = pl.ListPages(ctx, dir, stop)
		} else {
			var all []objstore.Object
			if all, err = in.List(ctx, dir); err == nil {
				err = stop(all)
			}
		}
		if err != nil && !errors.Is(err, errEnough) {
			return nil, err
		}
	}
	return objs, nil
}
