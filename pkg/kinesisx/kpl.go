package kinesisx

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// KPL aggregation: a producer built on the Kinesis Producer Library (or the
// kinesis-aggregation libraries) packs several user records into one Kinesis
// record. Its data is the 4 magic bytes F3 89 9A C2, then a protobuf message
//
//	message AggregatedRecord {
//	  repeated string partition_key_table     = 1;
//	  repeated string explicit_hash_key_table = 2;
//	  repeated Record records                 = 3;
//	}
//	message Record {
//	  required uint64 partition_key_index     = 1;
//	  optional uint64 explicit_hash_key_index = 2;
//	  required bytes  data                    = 3;
//	  repeated Tag    tags                    = 4;
//	}
//
// then the 16-byte MD5 digest of the protobuf message. The user records of
// one Kinesis record share its sequence number; the n-th (from 0) has the
// sub-sequence number n.

// kplMagic starts the data of every KPL-aggregated record.
var kplMagic = []byte{0xF3, 0x89, 0x9A, 0xC2}

// Errors of Deaggregate: a record that starts with the magic bytes but
// cannot be unpacked.
var (
	// ErrKPLChecksum: the MD5 digest at the end is not that of the message.
	ErrKPLChecksum = errors.New("KPL-aggregated record: the MD5 checksum does not match")
	// ErrKPLMalformed: too short to hold the magic and the digest, or the
	// message is not a valid AggregatedRecord with at least one record.
	ErrKPLMalformed = errors.New("KPL-aggregated record: malformed")
)

// IsAggregated reports whether data claims KPL aggregation: it starts with
// the magic bytes. (No JSON text does: F3 89 9A C2 is not valid UTF-8.)
func IsAggregated(data []byte) bool { return bytes.HasPrefix(data, kplMagic) }

// Deaggregate returns the user records of rec. A record that is not
// aggregated is returned alone, as it is. An aggregated one gives one Record
// per user record, in order, with rec's Sequence and Arrival, Aggregated set,
// SubSequence its index, PartitionKey its own and Data a slice of rec.Data
// (not a copy). An aggregated record that cannot be unpacked gives an error
// wrapping ErrKPLChecksum or ErrKPLMalformed, and no records: it is one
// thing, kept or rejected whole.
func Deaggregate(rec Record) ([]Record, error) {
	if !IsAggregated(rec.Data) {
		return []Record{rec}, nil
	}
	d := rec.Data
	if len(d) < len(kplMagic)+md5.Size {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the magic bytes and the MD5 digest (%d)", ErrKPLMalformed, len(d), len(kplMagic)+md5.Size)
	}
	msg, sum := d[len(kplMagic):len(d)-md5.Size], d[len(d)-md5.Size:]
	if got := md5.Sum(msg); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%w: the digest of its %d-byte message is %x, the record says %x", ErrKPLChecksum, len(msg), got, sum)
	}
	out, err := decodeAggregated(rec, msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrKPLMalformed, err)
	}
	return out, nil
}

// decodeAggregated decodes an AggregatedRecord message. Unknown fields are
// skipped, as protobuf readers do.
func decodeAggregated(rec Record, b []byte) ([]Record, error) {
	var keys []string
	type user struct {
		key  uint64
		data []byte
	}
	var users []user
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("AggregatedRecord: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case (num == 1 || num == 2 || num == 3) && typ != protowire.BytesType:
			return nil, fmt.Errorf("AggregatedRecord field %d has wire type %d, want bytes", num, typ)
		case num == 1 || num == 2 || num == 3:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, fmt.Errorf("AggregatedRecord field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case 1:
				keys = append(keys, string(v))
			case 2: // explicit hash keys place records on shards: a reader has no use for them
			default:
				key, data, err := decodeRecord(v)
				if err != nil {
					return nil, fmt.Errorf("record %d: %w", len(users), err)
				}
				users = append(users, user{key, data})
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, fmt.Errorf("AggregatedRecord field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	if len(users) == 0 {
		return nil, errors.New("no user records")
	}
	out := make([]Record, len(users))
	for i, u := range users {
		if u.key >= uint64(len(keys)) {
			return nil, fmt.Errorf("record %d: partition key index %d, the table has %d keys", i, u.key, len(keys))
		}
		out[i] = Record{Sequence: rec.Sequence, Arrival: rec.Arrival, PartitionKey: keys[u.key], Data: u.data,
			Aggregated: true, SubSequence: int64(i)}
	}
	return out, nil
}

// decodeRecord decodes a Record message: its partition key index and data,
// both required.
func decodeRecord(b []byte) (key uint64, data []byte, err error) {
	var haveKey, haveData bool
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, nil, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case (num == 1 || num == 2) && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, nil, fmt.Errorf("field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
			if num == 1 {
				key, haveKey = v, true
			}
		case num == 3 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, nil, fmt.Errorf("field 3 (data): %v", protowire.ParseError(n))
			}
			b = b[n:]
			data, haveData = v, true
		case num >= 1 && num <= 3:
			return 0, nil, fmt.Errorf("field %d has wire type %d", num, typ)
		default: // tags (4) and unknown fields
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return 0, nil, fmt.Errorf("field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	switch {
	case !haveKey:
		return 0, nil, errors.New("no partition_key_index")
	case !haveData:
		return 0, nil, errors.New("no data")
	}
	return key, data, nil
}

// Aggregator builds KPL-aggregated records, in the format Deaggregate and
// the KPL's consumers read. The zero value is ready to use.
type Aggregator struct {
	keys    map[string]uint64
	table   []byte // partition_key_table entries
	records []byte // records entries
	n       int
}

// Add appends a user record.
func (a *Aggregator) Add(partitionKey string, data []byte) {
	idx, ok := a.keys[partitionKey]
	if !ok {
		if a.keys == nil {
			a.keys = map[string]uint64{}
		}
		idx = uint64(len(a.keys))
		a.keys[partitionKey] = idx
		a.table = protowire.AppendTag(a.table, 1, protowire.BytesType)
		a.table = protowire.AppendString(a.table, partitionKey)
	}
	a.records = protowire.AppendTag(a.records, 3, protowire.BytesType)
	a.records = protowire.AppendVarint(a.records, uint64(recordSize(idx, len(data))))
	a.records = protowire.AppendTag(a.records, 1, protowire.VarintType)
	a.records = protowire.AppendVarint(a.records, idx)
	a.records = protowire.AppendTag(a.records, 3, protowire.BytesType)
	a.records = protowire.AppendBytes(a.records, data)
	a.n++
}

func recordSize(idx uint64, data int) int {
	return protowire.SizeTag(1) + protowire.SizeVarint(idx) + protowire.SizeTag(3) + protowire.SizeBytes(data)
}

// Len is the number of user records added since the last Reset.
func (a *Aggregator) Len() int { return a.n }

// Size is the length of the record Bytes would return.
func (a *Aggregator) Size() int { return len(kplMagic) + len(a.table) + len(a.records) + md5.Size }

// SizeWith is Size after adding a user record of key and data: a producer
// checks it against the 1 MiB limit of a Kinesis record before adding.
func (a *Aggregator) SizeWith(partitionKey string, data []byte) int {
	n := a.Size()
	idx, ok := a.keys[partitionKey]
	if !ok {
		idx = uint64(len(a.keys))
		n += protowire.SizeTag(1) + protowire.SizeBytes(len(partitionKey))
	}
	return n + protowire.SizeTag(3) + protowire.SizeBytes(recordSize(idx, len(data)))
}

// Bytes returns the aggregated record of the user records added: magic,
// message, digest. It is a new slice.
func (a *Aggregator) Bytes() []byte {
	out := make([]byte, 0, a.Size())
	out = append(out, kplMagic...)
	out = append(out, a.table...)
	out = append(out, a.records...)
	sum := md5.Sum(out[len(kplMagic):])
	return append(out, sum[:]...)
}

// Reset empties the Aggregator for the next record.
func (a *Aggregator) Reset() {
	clear(a.keys)
	a.table, a.records, a.n = a.table[:0], a.records[:0], 0
}

// ID names a record in the source columns and the quarantine
// (sequence_number): its sequence number, followed for a user record of an
// aggregated record by ":" and its sub-sequence number
// ("49590338271490256608559692538361571095921575989136588898:3").
func (r Record) ID() string {
	if !r.Aggregated {
		return r.Sequence
	}
	return r.Sequence + ":" + strconv.FormatInt(r.SubSequence, 10)
}
