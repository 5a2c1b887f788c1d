package landing

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Layout is the key layout of a landed object, for messages.
const Layout = "{topic}/partition={p}/{topic}+{p}+{startOffset:%010d}.json[.gz]"

// offsetDigits is the width the start offset is zero-padded to in a key.
const offsetDigits = 10

// maxTopicLen is Kafka's limit on the length of a topic name.
const maxTopicLen = 249

// ErrNotKey is wrapped by the errors of ParseKey and Key.Validate.
var ErrNotKey = errors.New("not a landed object key")

// Key is the key of a landed object, relative to the topics root: the
// object of a topic's partition whose first record has offset Start.
type Key struct {
	Topic     string // a Kafka topic name: 1-249 of [a-zA-Z0-9._-], not "." or ".."
	Partition int32  // >= 0
	Start     int64  // offset of the object's first record, >= 0
	Gzip      bool   // ".json.gz" rather than ".json"
}

// TopicDir returns the directory of a topic's objects: "{topic}/".
func TopicDir(topic string) string { return topic + "/" }

// PartitionDir returns the directory of a partition's objects:
// "{topic}/partition={p}/".
func PartitionDir(topic string, partition int32) string {
	return string(appendDir(make([]byte, 0, len(topic)+22), topic, partition))
}

func appendDir(b []byte, topic string, partition int32) []byte {
	b = append(b, topic...)
	b = append(b, "/partition="...)
	b = strconv.AppendInt(b, int64(partition), 10)
	return append(b, '/')
}

// appendName appends "{topic}+{p}+{start:%010d}" (no extension).
func appendName(b []byte, topic string, partition int32, start int64) []byte {
	b = append(b, topic...)
	b = append(b, '+')
	b = strconv.AppendInt(b, int64(partition), 10)
	b = append(b, '+')
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], start, 10)
	for i := len(d); i < offsetDigits; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// String returns the key: "{topic}/partition={p}/{topic}+{p}+{start:%010d}.json",
// with ".gz" appended when Gzip is set. ParseKey reads it back when k is valid
// (Validate).
func (k Key) String() string {
	b := make([]byte, 0, 2*len(k.Topic)+48)
	b = appendDir(b, k.Topic, k.Partition)
	b = appendName(b, k.Topic, k.Partition, k.Start)
	b = append(b, ".json"...)
	if k.Gzip {
		b = append(b, ".gz"...)
	}
	return string(b)
}

// Dir returns the directory of k's partition, PartitionDir(k.Topic, k.Partition).
func (k Key) Dir() string { return PartitionDir(k.Topic, k.Partition) }

// Validate reports whether k names a landed object: a Kafka topic name, a
// partition >= 0 and a start offset >= 0.
func (k Key) Validate() error {
	if reason := topicProblem(k.Topic); reason != "" {
		return fmt.Errorf("%w: topic %q %s", ErrNotKey, k.Topic, reason)
	}
	if k.Partition < 0 {
		return fmt.Errorf("%w: partition %d of topic %s is negative", ErrNotKey, k.Partition, k.Topic)
	}
	if k.Start < 0 {
		return fmt.Errorf("%w: start offset %d of %s/%d is negative", ErrNotKey, k.Start, k.Topic, k.Partition)
	}
	return nil
}

// topicProblem returns why name is not a Kafka topic name, or "".
func topicProblem(name string) string {
	switch {
	case name == "":
		return "is empty"
	case len(name) > maxTopicLen:
		return fmt.Sprintf("is %d bytes long, want at most %d", len(name), maxTopicLen)
	case name == "." || name == "..":
		return "is not a Kafka topic name"
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Sprintf("has %q at byte %d, want only letters, digits, '.', '_' and '-'", c, i)
		}
	}
	return ""
}

// ParseKey parses a landed object's key, relative to the topics root. It
// accepts exactly the keys Key.String formats from a valid Key: the topic
// of the directory and of the name must be the same Kafka topic name, the
// partition of the directory and of the name the same decimal int32 >= 0
// without leading zeros, the start offset decimal digits only, zero-padded
// to 10 digits (more digits only without a leading zero) and within int64,
// and the extension ".json" or ".json.gz". The error names the key and what
// was expected.
func ParseKey(key string) (Key, error) {
	topic, rest, found := strings.Cut(key, "/partition=")
	if !found {
		return Key{}, keyError(key, `no "/partition=" directory`)
	}
	if reason := topicProblem(topic); reason != "" {
		return Key{}, keyError(key, fmt.Sprintf("the topic %q %s", topic, reason))
	}
	pdir, name, found := strings.Cut(rest, "/")
	if !found {
		return Key{}, keyError(key, "no object name after the partition directory")
	}
	partition, ok := parsePartition(pdir)
	if !ok {
		return Key{}, keyError(key, fmt.Sprintf("partition %q is not a decimal int32 >= 0 without leading zeros", pdir))
	}
	if strings.Contains(name, "/") {
		return Key{}, keyError(key, "the object is in a subdirectory of the partition directory")
	}
	k := Key{Topic: topic, Partition: partition}
	switch {
	case strings.HasSuffix(name, ".json.gz"):
		name, k.Gzip = strings.TrimSuffix(name, ".json.gz"), true
	case strings.HasSuffix(name, ".json"):
		name = strings.TrimSuffix(name, ".json")
	default:
		return Key{}, keyError(key, "the name does not end in .json or .json.gz")
	}
	// The name repeats the directory's topic and partition.
	tail, found := strings.CutPrefix(name, topic)
	if found {
		tail, found = strings.CutPrefix(tail, "+")
	}
	if found {
		tail, found = strings.CutPrefix(tail, pdir)
	}
	if found {
		tail, found = strings.CutPrefix(tail, "+")
	}
	if !found {
		return Key{}, keyError(key, fmt.Sprintf("the name does not start with %s+%s+ (its directory's topic and partition)", topic, pdir))
	}
	start, ok := parseDecimal(tail, math.MaxInt64)
	if !ok || len(tail) < offsetDigits || len(tail) > offsetDigits && tail[0] == '0' {
		return Key{}, keyError(key, fmt.Sprintf("start offset %q is not a decimal int64 >= 0 zero-padded to %d digits", tail, offsetDigits))
	}
	k.Start = start
	return k, nil
}

// parsePartition parses a partition number: a decimal int32 >= 0 without
// leading zeros.
func parsePartition(s string) (int32, bool) {
	n, ok := parseDecimal(s, math.MaxInt32)
	if !ok || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	return int32(n), true
}

// ParsePartitionDir returns the partition of a partition directory's name,
// "partition={p}" (the last element of PartitionDir), as ParseKey reads it.
func ParsePartitionDir(name string) (int32, bool) {
	s, ok := strings.CutPrefix(name, "partition=")
	if !ok {
		return 0, false
	}
	return parsePartition(s)
}

func keyError(key, reason string) error {
	return fmt.Errorf("%w %q: %s; want %s", ErrNotKey, key, reason, Layout)
}

// parseDecimal parses s, decimal digits only (no sign), as a number <= max.
// The caller checks leading zeros.
func parseDecimal(s string, max int64) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > max {
		return 0, false
	}
	return n, true
}

// StartAfter returns the key to give a listing of a partition's directory
// (S3 ListObjectsV2 StartAfter: keys strictly after it, in byte order) so
// that it returns exactly the objects whose start offset is >= offset.
//
// That holds because the start offset is zero-padded to 10 digits, so keys
// of one partition sort by offset, as long as the offsets have at most 10
// digits: an offset of 11 digits (>= 10^10) sorts by its first digits
// among 10-digit ones. ok is false when offset is outside [0, 10^10): list
// the whole directory then, and filter by the parsed start offset.
func StartAfter(topic string, partition int32, offset int64) (key string, ok bool) {
	if offset < 0 || offset >= 1e10 {
		return "", false
	}
	// "{dir}{topic}+{p}+{offset:%010d}" without extension sorts just before
	// the keys of the object starting at offset (".json", ".json.gz") and
	// after every key of an object starting before it.
	b := appendDir(make([]byte, 0, 2*len(topic)+40), topic, partition)
	return string(appendName(b, topic, partition, offset)), true
}
