package stream

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
)

// Table properties of the stream tables, committed with the data they
// describe (PROTOCOL.md).
const (
	// PositionsKey holds the Positions of the shards whose records the
	// table holds.
	PositionsKey = "pinpipe.stream.positions"
	// QualityKey holds the cumulative clean.TableQuality of the records
	// committed to stream_pin, stream_geo or stream_user.
	QualityKey = "pinpipe.stream.quality"
)

// Position is how far a table holds a shard's records.
type Position struct {
	// After is the sequence number of the shard's last record the table
	// holds (as a row, a reject, or nothing: a blank record, or a record
	// that belongs to the other table). Empty: none yet.
	After string `json:"after,omitempty"`
	// From is where reading starts before any record is committed, when
	// the start is a time (--initial-position latest or at_timestamp): it is
	// committed before the first record is used, so that a restart reads
	// from the same place.
	From *time.Time `json:"from,omitempty"`
	// Closed says the shard was read to its end and all of it is committed.
	Closed bool `json:"closed,omitempty"`
}

// IsZero reports whether nothing is committed for the shard.
func (p Position) IsZero() bool { return p.After == "" && p.From == nil && !p.Closed }

func (p Position) String() string {
	switch {
	case p.Closed:
		return "closed after " + p.After
	case p.After != "":
		return "after " + p.After
	case p.From != nil:
		return "from " + p.From.UTC().Format(time.RFC3339Nano)
	}
	return "none"
}

// Equal reports whether p and q are the same position.
func (p Position) Equal(q Position) bool {
	if p.After != q.After || p.Closed != q.Closed || (p.From == nil) != (q.From == nil) {
		return false
	}
	return p.From == nil || p.From.Equal(*q.From)
}

// Reaches reports whether p is at or past q: every record q covers, p
// covers too.
func (p Position) Reaches(q Position) bool {
	switch {
	case q.Closed:
		return p.Closed
	case q.After != "":
		return p.After != "" && kinesisx.CompareSequence(p.After, q.After) >= 0
	case q.From != nil:
		return p.After != "" || p.Closed || (p.From != nil && !p.From.Before(*q.From))
	}
	return true
}

// Covers reports whether the record seq is committed at p.
func (p Position) Covers(seq string) bool {
	return p.After != "" && kinesisx.CompareSequence(seq, p.After) <= 0
}

// Earlier returns the earlier of p and q (the one the other reaches).
func Earlier(p, q Position) Position {
	if q.Reaches(p) {
		return p
	}
	return q
}

// start is where reading a shard resumes from p, or def when nothing is
// committed.
func (p Position) start(def kinesisx.Position) kinesisx.Position {
	switch {
	case p.After != "":
		return kinesisx.Position{Type: kinesisx.AfterSequence, Sequence: p.After}
	case p.From != nil:
		return kinesisx.Position{Type: kinesisx.AtTimestamp, Timestamp: *p.From}
	}
	return def
}

// Positions are the positions of a table, by stream, then shard.
type Positions map[string]map[string]Position

func (ps Positions) get(stream, shard string) Position { return ps[stream][shard] }

func (ps Positions) set(stream, shard string, p Position) {
	if ps[stream] == nil {
		ps[stream] = map[string]Position{}
	}
	ps[stream][shard] = p
}

func (ps Positions) clone() Positions {
	out := make(Positions, len(ps))
	for s, shards := range ps {
		out[s] = make(map[string]Position, len(shards))
		for id, p := range shards {
			out[s][id] = p
		}
	}
	return out
}

// ParsePositions reads the positions from a stream table's properties.
func ParsePositions(props iceberg.Properties) (Positions, error) { return positionsOf(props) }

// positionsOf reads the positions from a table's properties.
func positionsOf(props iceberg.Properties) (Positions, error) {
	ps := Positions{}
	raw := props[PositionsKey]
	if raw == "" {
		return ps, nil
	}
	if err := json.Unmarshal([]byte(raw), &ps); err != nil {
		return nil, fmt.Errorf("table property %s: %w", PositionsKey, err)
	}
	return ps, nil
}

// encode is the property value of ps (map keys sorted).
func (ps Positions) encode() string {
	data, _ := json.Marshal(ps) // maps of strings and plain structs: cannot fail
	return string(data)
}

// qualityOf reads the cumulative quality from a table's properties.
func qualityOf(props iceberg.Properties) (clean.TableQuality, error) {
	var q clean.TableQuality
	if raw := props[QualityKey]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &q); err != nil {
			return q, fmt.Errorf("table property %s: %w", QualityKey, err)
		}
	}
	return q, nil
}

func encodeQuality(q clean.TableQuality) string {
	data, _ := json.Marshal(q)
	return string(data)
}
