// Package kinesisfake is an in-memory fake of the Kinesis Data Streams API,
// for tests: it implements kinesisx.API (DescribeStreamSummary, ListShards,
// GetShardIterator, GetRecords) with the semantics AWS documents, so that
// the protocols built on it can be tested fast, without the dev stack, and
// with faults injected at any call.
//
// What it models:
//   - Streams of shards, each owning a range of the 128-bit hash-key space
//     (CreateStream divides it evenly, as Kinesis does). Put routes a record
//     by the MD5 hash of its partition key; PutToShard appends to a given
//     shard.
//   - Sequence numbers: 56-digit decimal strings that grow across the whole
//     stream (a child's records come after its parents'), comparable with
//     kinesisx.CompareSequence. Each encodes its shard, so one used on
//     another shard is rejected, as AWS does.
//   - ApproximateArrivalTimestamp from Options.Now (millisecond precision,
//     never earlier than the stream's previous record).
//   - Resharding: SplitShard and MergeShards close the parents (an
//     EndingSequenceNumber; a reader at the end gets a nil
//     NextShardIterator and the ChildShards) and create the children with
//     ParentShardId and AdjacentParentShardId. Changes are immediate: there
//     is no UPDATING state.
//   - ListShards paging (NextToken, expiring after 300 s; MaxResults;
//     Options.PageSize), ExclusiveStartShardId and the AFTER_SHARD_ID,
//     AT_LATEST and FROM_TRIM_HORIZON shard filters.
//   - GetShardIterator of every type (TRIM_HORIZON, LATEST,
//     AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP), iterators
//     that expire after Options.IteratorTTL or on ExpireIterators.
//   - GetRecords with Limit, the 10 MiB per call cap, MillisBehindLatest and
//     NextShardIterator. It returns no records only at the tip of a shard.
//   - Retention: records older than Options.Retention are trimmed (checked
//     at every call, on the fake clock), TRIM_HORIZON starts after them, and
//     a shard closed longer ago than the retention period is no longer
//     listed.
//   - Errors of the SDK's types (*types.ResourceNotFoundException,
//     *types.InvalidArgumentException, *types.ExpiredIteratorException, ...)
//     wrapped in a *smithy.OperationError, as the SDK client returns them.
//   - Faults (FailNth, FailIf, Hold) and call counts (Calls, WaitCalls).
//
// What it does not model: the PutRecord(s) calls (tests add records with
// Put), enhanced fan-out (consumers, SubscribeToShard), KMS encryption,
// on-demand capacity, tags, DeleteStream, account shard limits, the
// per-shard rate limits (5 GetRecords per second, 2 MB/s: inject
// *types.ProvisionedThroughputExceededException instead), the
// CREATING/UPDATING states, and empty GetRecords answers while records are
// waiting.
package kinesisfake

import (
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Limits of the service.
const (
	accountID         = "000000000000"
	region            = "us-east-1"
	maxRecordsPerCall = 10000
	maxBytesPerCall   = 10 << 20
	maxRecordBytes    = 1 << 20
	maxPartitionKey   = 256
	maxMaxResults     = 10000
	nextTokenTTL      = 300 * time.Second
)

// Options configures a Fake. The zero value gives the service's defaults
// and the real clock.
type Options struct {
	// Now is the clock for arrival timestamps, iterator and NextToken
	// expiry, retention and MillisBehindLatest. A Clock's Now keeps time
	// still until the test moves it. Default: time.Now.
	Now func() time.Time
	// IteratorTTL is how long a shard iterator stays valid after it was
	// returned. Default: 5m, as AWS.
	IteratorTTL time.Duration
	// Retention is how long records are kept. DescribeStreamSummary
	// reports it in whole hours. Default: 24h, as AWS.
	Retention time.Duration
	// PageSize is the most shards one ListShards call returns; a smaller
	// MaxResults in the call wins. Default: 1000, as AWS.
	PageSize int
	// EndWithEmptyBatch makes GetRecords return the nil NextShardIterator
	// of a closed shard only in a call with no records (as kinesalite
	// does), not already with the shard's last records.
	EndWithEmptyBatch bool
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	if o.IteratorTTL < 0 || o.Retention < 0 || o.PageSize < 0 {
		return errors.New("kinesisfake: negative IteratorTTL, Retention or PageSize")
	}
	return nil
}

// Fake is the fake service. Safe for concurrent use.
type Fake struct {
	o Options

	mu      sync.Mutex
	streams map[string]*stream
	epoch   int64 // iterators of an earlier epoch are expired
	calls   map[Op]int64
	rules   []*rule
	changed chan struct{} // closed and replaced when a call is counted
}

type stream struct {
	name    string
	created time.Time
	shards  []*shard // by index: shardId-%012d
	seq     uint64   // the last sequence counter handed out
	last    time.Time
}

type shard struct {
	id, parent, adjacent string
	lo, hi               *big.Int // hash-key range, inclusive
	start, end           uint64   // sequence counters; end is 0 while open
	closed               time.Time
	records              []record // increasing seq, non-decreasing arrival
	gone                 bool     // closed for longer than the retention: no longer listed
}

type record struct {
	seq     uint64
	key     string
	data    []byte
	arrival time.Time
}

func (sh *shard) open() bool { return sh.end == 0 }

// New returns a fake with no streams.
func New(o Options) (*Fake, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.IteratorTTL == 0 {
		o.IteratorTTL = 5 * time.Minute
	}
	if o.Retention == 0 {
		o.Retention = 24 * time.Hour
	}
	if o.PageSize == 0 {
		o.PageSize = 1000
	}
	return &Fake{o: o, streams: map[string]*stream{}, calls: map[Op]int64{}, changed: make(chan struct{})}, nil
}

var streamName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)

// hashSpace is 2^128, the size of the hash-key space.
var hashSpace = new(big.Int).Lsh(big.NewInt(1), 128)

// CreateStream creates an active stream of n shards that divide the hash-key
// space evenly. It fails with *types.ResourceInUseException when the stream
// exists and *types.InvalidArgumentException for a bad name or count.
func (f *Fake) CreateStream(name string, n int) error {
	if !streamName.MatchString(name) {
		return invalidArg("stream name %q does not match [a-zA-Z0-9_.-]{1,128}", name)
	}
	if n < 1 {
		return invalidArg("shard count %d of stream %s is below 1", n, name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.streams[name]; ok {
		return &types.ResourceInUseException{Message: aws.String(fmt.Sprintf("Stream %s under account %s already exists.", name, accountID))}
	}
	s := &stream{name: name, created: f.o.Now()}
	size := new(big.Int).Div(hashSpace, big.NewInt(int64(n)))
	for i := range n {
		lo := new(big.Int).Mul(size, big.NewInt(int64(i)))
		hi := new(big.Int).Add(lo, size)
		if i == n-1 {
			hi.Set(hashSpace)
		}
		hi.Sub(hi, big.NewInt(1))
		s.addShard(lo, hi, "", "")
	}
	f.streams[name] = s
	return nil
}

func (s *stream) addShard(lo, hi *big.Int, parent, adjacent string) *shard {
	s.seq++
	sh := &shard{id: shardID(len(s.shards)), parent: parent, adjacent: adjacent, lo: lo, hi: hi, start: s.seq}
	s.shards = append(s.shards, sh)
	return sh
}

// Put appends a record to the open shard whose hash-key range holds the MD5
// hash of partitionKey, as Kinesis routes PutRecord, and returns that
// shard's ID and the record's sequence number. The data is copied.
func (f *Fake) Put(stream, partitionKey string, data []byte) (shardID, sequence string, err error) {
	if err := checkRecord(partitionKey, data); err != nil {
		return "", "", err
	}
	sum := md5.Sum([]byte(partitionKey))
	h := new(big.Int).SetBytes(sum[:])
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.stream(stream)
	if err != nil {
		return "", "", err
	}
	for i, sh := range s.shards {
		if sh.open() && sh.lo.Cmp(h) <= 0 && h.Cmp(sh.hi) <= 0 {
			return sh.id, f.appendRecord(s, i, partitionKey, data), nil
		}
	}
	// Unreachable: the open shards always cover the hash-key space.
	return "", "", fmt.Errorf("kinesisfake: no open shard of %s holds hash key %s", stream, h)
}

// PutToShard appends a record to the given open shard and returns its
// sequence number. The data is copied. An unknown shard gives
// *types.ResourceNotFoundException, a closed one
// *types.InvalidArgumentException.
func (f *Fake) PutToShard(stream, shardID, partitionKey string, data []byte) (sequence string, err error) {
	if err := checkRecord(partitionKey, data); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.stream(stream)
	if err != nil {
		return "", err
	}
	i, sh, err := s.shard(shardID)
	if err != nil {
		return "", err
	}
	if !sh.open() {
		return "", invalidArg("shard %s of stream %s is closed", shardID, stream)
	}
	return f.appendRecord(s, i, partitionKey, data), nil
}

func checkRecord(key string, data []byte) error {
	if n := utf8.RuneCountInString(key); n < 1 || n > maxPartitionKey {
		return invalidArg("partition key has %d characters, want 1..%d", n, maxPartitionKey)
	}
	if n := len(key) + len(data); n > maxRecordBytes {
		return invalidArg("record of %d bytes (data and partition key) exceeds %d", n, maxRecordBytes)
	}
	return nil
}

// appendRecord adds a record to shard i of s; f.mu is held.
func (f *Fake) appendRecord(s *stream, i int, key string, data []byte) string {
	now := f.o.Now()
	f.trim(now)
	arrival := now.Truncate(time.Millisecond).UTC()
	if arrival.Before(s.last) {
		arrival = s.last
	}
	s.last = arrival
	s.seq++
	sh := s.shards[i]
	sh.records = append(sh.records, record{seq: s.seq, key: key, data: append([]byte(nil), data...), arrival: arrival})
	return formatSeq(s.seq, i)
}

// SplitShard closes shardID and creates two children: lower with the hash
// keys below newStartingHashKey (a decimal string) and upper with the rest,
// both with ParentShardId shardID. An empty newStartingHashKey splits the
// range in the middle. As AWS requires, the key must be greater than one
// plus the shard's StartingHashKey and less than its EndingHashKey, else
// the error is *types.InvalidArgumentException; a closed shard gives
// *types.ResourceInUseException.
func (f *Fake) SplitShard(stream, shardID, newStartingHashKey string) (lower, upper string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.stream(stream)
	if err != nil {
		return "", "", err
	}
	_, sh, err := s.shard(shardID)
	if err != nil {
		return "", "", err
	}
	if !sh.open() {
		return "", "", &types.ResourceInUseException{Message: aws.String(fmt.Sprintf("Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging or splitting.", shardID, stream, accountID))}
	}
	var k *big.Int
	if newStartingHashKey == "" {
		k = new(big.Int).Sub(sh.hi, sh.lo)
		k.Add(k, big.NewInt(1)).Rsh(k, 1).Add(k, sh.lo)
	} else {
		var ok bool
		if k, ok = new(big.Int).SetString(newStartingHashKey, 10); !ok {
			return "", "", invalidArg("NewStartingHashKey %q is not a decimal number", newStartingHashKey)
		}
	}
	if k.Cmp(new(big.Int).Add(sh.lo, big.NewInt(1))) <= 0 || k.Cmp(sh.hi) >= 0 {
		return "", "", invalidArg("NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s is not both greater than one plus the shard's StartingHashKey %s and less than the shard's EndingHashKey %s.",
			k, shardID, stream, accountID, sh.lo, sh.hi)
	}
	f.closeShard(s, sh)
	a := s.addShard(sh.lo, new(big.Int).Sub(k, big.NewInt(1)), sh.id, "")
	b := s.addShard(k, sh.hi, sh.id, "")
	return a.id, b.id, nil
}

// MergeShards closes two open shards whose hash-key ranges are adjacent and
// creates their child, with ParentShardId shardID and AdjacentParentShardId
// adjacentShardID, as AWS does. Shards that are not adjacent give
// *types.InvalidArgumentException, a closed one
// *types.ResourceInUseException.
func (f *Fake) MergeShards(stream, shardID, adjacentShardID string) (child string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.stream(stream)
	if err != nil {
		return "", err
	}
	_, a, err := s.shard(shardID)
	if err != nil {
		return "", err
	}
	_, b, err := s.shard(adjacentShardID)
	if err != nil {
		return "", err
	}
	for _, sh := range []*shard{a, b} {
		if !sh.open() {
			return "", &types.ResourceInUseException{Message: aws.String(fmt.Sprintf("Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging or splitting.", sh.id, stream, accountID))}
		}
	}
	lo, hi := a, b
	if b.hi.Cmp(a.lo) < 0 {
		lo, hi = b, a
	}
	if new(big.Int).Add(lo.hi, big.NewInt(1)).Cmp(hi.lo) != 0 {
		return "", invalidArg("Shards %s and %s in stream %s under account %s are not an adjacent pair of shards eligible for merging", shardID, adjacentShardID, stream, accountID)
	}
	f.closeShard(s, a)
	f.closeShard(s, b)
	return s.addShard(lo.lo, hi.hi, a.id, b.id).id, nil
}

// closeShard gives sh an ending sequence number above all of its records.
func (f *Fake) closeShard(s *stream, sh *shard) {
	s.seq++
	sh.end = s.seq
	sh.closed = f.o.Now()
}

// ExpireIterators makes every shard iterator returned so far expired: the
// next GetRecords with one fails with *types.ExpiredIteratorException.
// Iterators returned afterwards are valid.
func (f *Fake) ExpireIterators() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.epoch++
}

// trim drops the records older than the retention period and unlists the
// shards closed before it; f.mu is held.
func (f *Fake) trim(now time.Time) {
	cutoff := now.Add(-f.o.Retention)
	for _, s := range f.streams {
		for _, sh := range s.shards {
			if sh.gone {
				continue
			}
			if !sh.open() && sh.closed.Before(cutoff) {
				sh.gone, sh.records = true, nil
				continue
			}
			i := sort.Search(len(sh.records), func(i int) bool { return !sh.records[i].arrival.Before(cutoff) })
			if i > 0 {
				sh.records = append([]record(nil), sh.records[i:]...)
			}
		}
	}
}

// stream returns the named stream; f.mu is held.
func (f *Fake) stream(name string) (*stream, error) {
	s, ok := f.streams[name]
	if !ok {
		return nil, &types.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Stream %s under account %s not found.", name, accountID))}
	}
	return s, nil
}

// shard returns a listed shard of s by ID.
func (s *stream) shard(id string) (int, *shard, error) {
	for i, sh := range s.shards {
		if sh.id == id && !sh.gone {
			return i, sh, nil
		}
	}
	return 0, nil, &types.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Shard %s in stream %s under account %s does not exist", id, s.name, accountID))}
}

func (s *stream) arn() string {
	return "arn:aws:kinesis:" + region + ":" + accountID + ":stream/" + s.name
}

func shardID(i int) string { return fmt.Sprintf("shardId-%012d", i) }

func invalidArg(format string, args ...any) error {
	return &types.InvalidArgumentException{Message: aws.String(fmt.Sprintf(format, args...))}
}

// Clock is a manual clock for Options.Now: time stands still until Advance
// moves it. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d (back when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
