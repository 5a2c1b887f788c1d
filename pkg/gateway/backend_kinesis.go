package gateway

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Kinesis limits of one PutRecords call.
const (
	maxPutRecords      = 500
	maxPutRecordsBytes = 5 << 20
)

// putBatcher gathers the single records of PutRecord requests that arrive
// together for one stream into PutRecords calls: each request still gets
// its own record's sequence number and shard, or its own entry's error.
type putBatcher struct {
	api    KinesisAPI
	linger time.Duration

	mu      sync.Mutex
	pending map[string]*putBatch // by stream
}

type putBatch struct {
	stream  string
	entries []types.PutRecordsRequestEntry
	results []chan putResult
	bytes   int
	timer   *time.Timer
}

// putResult is one record's outcome: the entry's result, or err when the
// whole call failed.
type putResult struct {
	entry      types.PutRecordsResultEntry
	encryption types.EncryptionType
	err        error
}

func newPutBatcher(api KinesisAPI, linger time.Duration) *putBatcher {
	return &putBatcher{api: api, linger: linger, pending: map[string]*putBatch{}}
}

// put stores one record and returns its result: the entry of the
// PutRecords call it went with, or the error of that whole call. The call
// is not cancelled: a record is never left unreported while it may still be
// stored.
func (b *putBatcher) put(stream string, e types.PutRecordsRequestEntry) putResult {
	ch := make(chan putResult, 1)
	size := len(e.Data) + len(aws.ToString(e.PartitionKey))
	b.mu.Lock()
	pb := b.pending[stream]
	if pb != nil && pb.bytes+size > maxPutRecordsBytes {
		b.sendLocked(pb)
		pb = nil
	}
	if pb == nil {
		pb = &putBatch{stream: stream}
		b.pending[stream] = pb
		pb.timer = time.AfterFunc(b.linger, func() {
			b.mu.Lock()
			if b.pending[stream] == pb {
				b.sendLocked(pb)
			}
			b.mu.Unlock()
		})
	}
	pb.entries = append(pb.entries, e)
	pb.results = append(pb.results, ch)
	pb.bytes += size
	if len(pb.entries) == maxPutRecords {
		b.sendLocked(pb)
	}
	b.mu.Unlock()
	return <-ch
}

// sendLocked takes pb out of the pending batches and sends it; b.mu is held.
func (b *putBatcher) sendLocked(pb *putBatch) {
	pb.timer.Stop()
	delete(b.pending, pb.stream)
	go b.send(pb)
}

func (b *putBatcher) send(pb *putBatch) {
	out, err := b.api.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(pb.stream), Records: pb.entries})
	if err == nil && len(out.Records) != len(pb.entries) {
		err = &countError{got: len(out.Records), want: len(pb.entries)}
	}
	for i, ch := range pb.results {
		if err != nil {
			ch <- putResult{err: err}
			continue
		}
		ch <- putResult{entry: out.Records[i], encryption: out.EncryptionType}
	}
}

// countError is a PutRecords answer with another number of results than
// records: which were stored is unknown.
type countError struct{ got, want int }

func (e *countError) Error() string {
	return fmt.Sprintf("Kinesis answered %d results for %d records: which were stored is unknown", e.got, e.want)
}
