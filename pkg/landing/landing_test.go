package landing_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
)

var prefixes = []string{"124a514b9149", "p", "a.b", "x-pin", "demo_1", "pin"}

func TestTopicRoundTrip(t *testing.T) {
	for _, p := range prefixes {
		for _, tb := range clean.Tables {
			topic := landing.Topic(p, tb)
			gp, gt, ok := landing.ParseTopic(topic)
			if !ok || gp != p || gt != tb {
				t.Errorf("ParseTopic(%q) = %q, %q, %v; want %q, %q, true", topic, gp, gt, ok, p, tb)
			}
		}
	}
	if got := landing.Topic("124a514b9149", clean.TableGeo); got != "124a514b9149.geo" {
		t.Errorf("Topic = %q, want 124a514b9149.geo", got)
	}
}

func TestParseTopicRejects(t *testing.T) {
	for _, topic := range []string{"", "pin", ".pin", "p.pins", "p.", "p-pin", "p.Pin", "p.pin "} {
		if p, tb, ok := landing.ParseTopic(topic); ok {
			t.Errorf("ParseTopic(%q) = %q, %q, true; want not ok", topic, p, tb)
		}
	}
}

func TestStreamRoundTrip(t *testing.T) {
	for _, p := range prefixes {
		for _, tb := range clean.Tables {
			s := landing.Stream(p, tb)
			gp, gt, ok := landing.ParseStream(s)
			if !ok || gp != p || gt != tb {
				t.Errorf("ParseStream(%q) = %q, %q, %v; want %q, %q, true", s, gp, gt, ok, p, tb)
			}
		}
	}
	if got := landing.Stream("124a514b9149", clean.TableUser); got != "streaming-124a514b9149-user" {
		t.Errorf("Stream = %q, want streaming-124a514b9149-user", got)
	}
}

func TestParseStreamRejects(t *testing.T) {
	for _, s := range []string{"", "streaming-", "streaming--pin", "streaming-pin", "p-pin", "streaming-p-pins", "Streaming-p-pin", "streaming-p.pin"} {
		if p, tb, ok := landing.ParseStream(s); ok {
			t.Errorf("ParseStream(%q) = %q, %q, true; want not ok", s, p, tb)
		}
	}
}

func TestKeyString(t *testing.T) {
	tests := []struct {
		key  landing.Key
		want string
	}{
		{landing.Key{Topic: "p.pin"}, "p.pin/partition=0/p.pin+0+0000000000.json"},
		{landing.Key{Topic: "124a514b9149.geo", Partition: 11, Start: 1234567, Gzip: true},
			"124a514b9149.geo/partition=11/124a514b9149.geo+11+0001234567.json.gz"},
		{landing.Key{Topic: "t", Partition: 2, Start: 12345678901}, "t/partition=2/t+2+12345678901.json"},
		{landing.Key{Topic: "t", Partition: math.MaxInt32, Start: math.MaxInt64},
			"t/partition=2147483647/t+2147483647+9223372036854775807.json"},
	}
	for _, tc := range tests {
		if got := tc.key.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.key, got, tc.want)
		}
		got, err := landing.ParseKey(tc.want)
		if err != nil || got != tc.key {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v", tc.want, got, err, tc.key)
		}
		if dir := landing.PartitionDir(tc.key.Topic, tc.key.Partition); !strings.HasPrefix(tc.want, dir) || strings.Contains(tc.want[len(dir):], "/") || dir != tc.key.Dir() {
			t.Errorf("PartitionDir = %q, not the directory of %q", dir, tc.want)
		}
		if dir := landing.TopicDir(tc.key.Topic); !strings.HasPrefix(tc.want, dir) {
			t.Errorf("TopicDir = %q, not a prefix of %q", dir, tc.want)
		}
	}
}

func TestParseKeyRejects(t *testing.T) {
	tests := []struct {
		name, key, want string
	}{
		{"empty", "", `no "/partition=" directory`},
		{"no partition dir", "p.pin/p.pin+0+0000000000.json", `no "/partition=" directory`},
		{"prefix before the topic", "topics/p.pin/partition=0/p.pin+0+0000000000.json", "the topic"},
		{"empty topic", "/partition=0/+0+0000000000.json", "is empty"},
		{"topic with a space", "p pin/partition=0/p pin+0+0000000000.json", "want only letters"},
		{"dot topic", "./partition=0/.+0+0000000000.json", "not a Kafka topic name"},
		{"long topic", strings.Repeat("a", 250) + "/partition=0/" + strings.Repeat("a", 250) + "+0+0000000000.json", "at most 249"},
		{"no name", "p.pin/partition=0", "no object name"},
		{"empty partition", "p.pin/partition=/p.pin++0000000000.json", "partition"},
		{"negative partition", "p.pin/partition=-1/p.pin+-1+0000000000.json", "partition"},
		{"signed partition", "p.pin/partition=+1/p.pin++1+0000000000.json", "partition"},
		{"padded partition", "p.pin/partition=01/p.pin+01+0000000000.json", "partition"},
		{"partition beyond int32", "p.pin/partition=2147483648/p.pin+2147483648+0000000000.json", "partition"},
		{"subdirectory", "p.pin/partition=0/x/p.pin+0+0000000000.json", "subdirectory"},
		{"directory only", "p.pin/partition=0/", "does not end in .json"},
		{"other extension", "p.pin/partition=0/p.pin+0+0000000000.txt", "does not end in .json"},
		{"gz only", "p.pin/partition=0/p.pin+0+0000000000.gz", "does not end in .json"},
		{"other topic in name", "p.pin/partition=0/p.geo+0+0000000000.json", "does not start with p.pin+0+"},
		{"other partition in name", "p.pin/partition=0/p.pin+1+0000000000.json", "does not start with p.pin+0+"},
		{"no start", "p.pin/partition=0/p.pin+0+.json", "start offset"},
		{"unpadded start", "p.pin/partition=0/p.pin+0+5.json", "start offset"},
		{"short start", "p.pin/partition=0/p.pin+0+000000005.json", "start offset"},
		{"overpadded start", "p.pin/partition=0/p.pin+0+00000000005.json", "start offset"},
		{"negative start", "p.pin/partition=0/p.pin+0+-000000005.json", "start offset"},
		{"signed start", "p.pin/partition=0/p.pin+0++000000005.json", "start offset"},
		{"hex start", "p.pin/partition=0/p.pin+0+000000000a.json", "start offset"},
		{"start beyond int64", "p.pin/partition=0/p.pin+0+9223372036854775808.json", "start offset"},
		{"start of 20 digits", "p.pin/partition=0/p.pin+0+10000000000000000000.json", "start offset"},
		{"extra field", "p.pin/partition=0/p.pin+0+0000000000+1.json", "start offset"},
		{"double extension", "p.pin/partition=0/p.pin+0+0000000000.json.json", "start offset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := landing.ParseKey(tc.key)
			if err == nil {
				t.Fatalf("ParseKey(%q) = %+v, want an error", tc.key, k)
			}
			if !errors.Is(err, landing.ErrNotKey) {
				t.Errorf("error %v does not wrap ErrNotKey", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, `"`+tc.key+`"`) || !strings.Contains(msg, landing.Layout) {
				t.Errorf("error %q: want it to name the key, say %q and give the layout", msg, tc.want)
			}
		})
	}
}

func TestKeyValidate(t *testing.T) {
	for _, k := range []landing.Key{
		{Topic: ""}, {Topic: "a/b"}, {Topic: "a+b"}, {Topic: ".."}, {Topic: "p.pin", Partition: -1}, {Topic: "p.pin", Start: -1},
	} {
		if err := k.Validate(); !errors.Is(err, landing.ErrNotKey) {
			t.Errorf("%+v.Validate() = %v, want ErrNotKey", k, err)
		}
	}
	if err := (landing.Key{Topic: "A-z_0.9", Partition: 3, Start: 7}).Validate(); err != nil {
		t.Errorf("Validate of a valid key: %v", err)
	}
}

// TestStartAfter checks, on keys around the padding's limits, that the keys
// sorting after StartAfter are exactly those whose start is >= offset.
func TestStartAfter(t *testing.T) {
	starts := []int64{0, 1, 9, 10, 99, 100, 12345, 999999999, 1000000000, 5000000000, 9999999998, 9999999999}
	var keys []string
	for _, s := range starts {
		for _, gz := range []bool{false, true} {
			keys = append(keys, landing.Key{Topic: "p.pin", Partition: 7, Start: s, Gzip: gz}.String())
		}
	}
	// Keys of other partitions and a neighbouring topic may share the listing.
	keys = append(keys, landing.Key{Topic: "p.pin", Partition: 70, Start: 0}.String(),
		landing.Key{Topic: "p.pin", Partition: 8, Start: 0}.String())
	slices.Sort(keys)
	dir := landing.PartitionDir("p.pin", 7)
	for _, off := range append(slices.Clone(starts), 2, 11, 4999999999, 9999999997) {
		after, ok := landing.StartAfter("p.pin", 7, off)
		if !ok {
			t.Fatalf("StartAfter(%d) not ok", off)
		}
		if !strings.HasPrefix(after, dir) {
			t.Fatalf("StartAfter(%d) = %q, not in %s", off, after, dir)
		}
		for _, key := range keys {
			if !strings.HasPrefix(key, dir) {
				continue
			}
			k, err := landing.ParseKey(key)
			if err != nil {
				t.Fatal(err)
			}
			if listed := key > after; listed != (k.Start >= off) {
				t.Errorf("offset %d: key %s listed after %q: %v, want %v", off, key, after, listed, !listed)
			}
		}
	}
	for _, off := range []int64{-1, 1e10, math.MaxInt64} {
		if after, ok := landing.StartAfter("p.pin", 7, off); ok {
			t.Errorf("StartAfter(%d) = %q, true; want not ok (beyond 10 digits)", off, after)
		}
	}
}

// FuzzKeyRoundTrip checks both directions: a valid Key formats to a string
// that parses back to it, and a string that parses formats back to itself.
func FuzzKeyRoundTrip(f *testing.F) {
	f.Add("p.pin/partition=0/p.pin+0+0000000000.json", "p.pin", int32(0), int64(0), false)
	f.Add("124a514b9149.geo/partition=11/124a514b9149.geo+11+0001234567.json.gz", "124a514b9149.geo", int32(11), int64(1234567), true)
	f.Add("t/partition=2/t+2+12345678901.json", "t", int32(2), int64(12345678901), false)
	f.Add("p.pin/partition=01/p.pin+01+5.json", "a+b", int32(-1), int64(-5), true)
	f.Fuzz(func(t *testing.T, s, topic string, partition int32, start int64, gz bool) {
		if k, err := landing.ParseKey(s); err == nil {
			if got := k.String(); got != s {
				t.Errorf("ParseKey(%q) = %+v, which formats as %q", s, k, got)
			}
			if err := k.Validate(); err != nil {
				t.Errorf("ParseKey(%q) = %+v, which is not valid: %v", s, k, err)
			}
		} else if !errors.Is(err, landing.ErrNotKey) {
			t.Errorf("ParseKey(%q): %v does not wrap ErrNotKey", s, err)
		}
		k := landing.Key{Topic: topic, Partition: partition, Start: start, Gzip: gz}
		if k.Validate() != nil {
			return
		}
		got, err := landing.ParseKey(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v", k.String(), got, err, k)
		}
	})
}

func TestParsePartitionDir(t *testing.T) {
	for in, want := range map[string]int32{"partition=0": 0, "partition=12": 12} {
		if p, ok := landing.ParsePartitionDir(in); !ok || p != want {
			t.Errorf("ParsePartitionDir(%q) = %d, %v", in, p, ok)
		}
		// The directory PartitionDir formats parses back.
		if p, ok := landing.ParsePartitionDir(strings.TrimSuffix(strings.TrimPrefix(landing.PartitionDir("t", want), "t/"), "/")); !ok || p != want {
			t.Errorf("PartitionDir(%d) does not parse back", want)
		}
	}
	for _, in := range []string{"partition=", "partition=01", "partition=-1", "part=1", "partition=99999999999"} {
		if _, ok := landing.ParsePartitionDir(in); ok {
			t.Errorf("ParsePartitionDir(%q) accepted", in)
		}
	}
}
