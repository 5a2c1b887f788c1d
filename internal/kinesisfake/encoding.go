package kinesisfake

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A sequence number is "49", the stream's counter in 42 digits, then the
// shard's index in 12 digits: 56 digits like the service's, growing across
// the stream, and naming the shard it belongs to.
const seqLen = 2 + 42 + 12

func formatSeq(n uint64, shard int) string { return fmt.Sprintf("49%042d%012d", n, shard) }

func parseSeq(s string) (n uint64, shard int, ok bool) {
	if len(s) != seqLen || !strings.HasPrefix(s, "49") {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(s[2:44], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	i, err := strconv.ParseUint(s[44:], 10, 31)
	if err != nil {
		return 0, 0, false
	}
	return n, int(i), true
}

// iterator is what a shard iterator encodes: the next record is the first
// of the shard with a sequence counter at or above next.
type iterator struct {
	stream string
	shard  int
	next   uint64
	issued time.Time
	epoch  int64
}

func (it iterator) String() string {
	s := fmt.Sprintf("it1|%s|%d|%d|%d|%d", it.stream, it.shard, it.next, it.issued.UnixNano(), it.epoch)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func parseIterator(s string) (iterator, bool) {
	var it iterator
	f, ok := fields(s, "it1", 6)
	if !ok {
		return it, false
	}
	it.stream = f[1]
	shard, err1 := strconv.ParseUint(f[2], 10, 31)
	next, err2 := strconv.ParseUint(f[3], 10, 64)
	issued, err3 := strconv.ParseInt(f[4], 10, 64)
	epoch, err4 := strconv.ParseInt(f[5], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || !streamName.MatchString(it.stream) {
		return it, false
	}
	it.shard, it.next, it.issued, it.epoch = int(shard), next, time.Unix(0, issued), epoch
	return it, true
}

// pageToken is what a ListShards NextToken encodes: the listing continues
// after the shard ID after.
type pageToken struct {
	stream   string
	after    string
	openOnly bool // the AT_LATEST filter
	issued   time.Time
}

func (t pageToken) String() string {
	s := fmt.Sprintf("lt1|%s|%t|%d|%s", t.stream, t.openOnly, t.issued.UnixNano(), t.after)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func parsePageToken(s string) (pageToken, bool) {
	var t pageToken
	f, ok := fields(s, "lt1", 5)
	if !ok {
		return t, false
	}
	t.stream, t.after = f[1], f[4]
	open, err1 := strconv.ParseBool(f[2])
	issued, err2 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || !streamName.MatchString(t.stream) {
		return t, false
	}
	t.openOnly, t.issued = open, time.Unix(0, issued)
	return t, true
}

// fields decodes a token into its n "|"-separated fields, the first being
// version; the last may hold "|".
func fields(s, version string, n int) ([]string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	f := strings.SplitN(string(b), "|", n)
	return f, len(f) == n && f[0] == version
}
