package kinesisx

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// scripted answers GetShardIterator and GetRecords with the errors queued
// in iterErrs and getErrs, then successfully.
type scripted struct {
	API
	iterErrs, getErrs []error
	iterCalls         int
}

func (s *scripted) GetShardIterator(context.Context, *kinesis.GetShardIteratorInput, ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	s.iterCalls++
	if len(s.iterErrs) > 0 {
		err := s.iterErrs[0]
		s.iterErrs = s.iterErrs[1:]
		return nil, err
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String("it")}, nil
}

func (s *scripted) GetRecords(context.Context, *kinesis.GetRecordsInput, ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	if len(s.getErrs) > 0 {
		err := s.getErrs[0]
		s.getErrs = s.getErrs[1:]
		return nil, err
	}
	return &kinesis.GetRecordsOutput{Records: []types.Record{{SequenceNumber: aws.String("1"), Data: []byte("x")}},
		NextShardIterator: aws.String("next")}, nil
}

// TestNextRetries checks what Next retries and how it counts it: throttling
// and other errors are retried (counted apart), an expired iterator is
// renewed at once, a permanent error ends Next.
func TestNextRetries(t *testing.T) {
	throttle := &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}
	denied := &types.AccessDeniedException{Message: aws.String("no")}
	tests := []struct {
		name      string
		api       *scripted
		wantStats ReaderStats
		wantIters int
		wantErr   error
	}{
		{"retried", &scripted{
			iterErrs: []error{throttle, errors.New("connection reset")},
			getErrs:  []error{throttle, errors.New("503"), &types.ExpiredIteratorException{Message: aws.String("old")}},
		}, ReaderStats{Calls: 4, Throttled: 2, Errors: 2, Expired: 1}, 4, nil},
		{"permanent iterator error", &scripted{iterErrs: []error{throttle, denied}},
			ReaderStats{Throttled: 1}, 2, denied},
		{"permanent GetRecords error", &scripted{getErrs: []error{errors.New("503"), denied}},
			ReaderStats{Calls: 2, Errors: 1}, 1, denied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewShardReader(tc.api, ReaderOptions{Stream: "s", ShardID: "shard-0", MinInterval: time.Nanosecond})
			if err != nil {
				t.Fatal(err)
			}
			b, err := r.Next(t.Context())
			switch {
			case tc.wantErr == nil && (err != nil || len(b.Records) != 1):
				t.Errorf("Next = %d records, %v; want 1 record", len(b.Records), err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("Next = %v, want %v", err, tc.wantErr)
			}
			if got := r.Stats(); got != tc.wantStats {
				t.Errorf("Stats = %+v, want %+v", got, tc.wantStats)
			}
			if tc.api.iterCalls != tc.wantIters {
				t.Errorf("%d GetShardIterator calls, want %d", tc.api.iterCalls, tc.wantIters)
			}
		})
	}
}

// TestNextCancelled checks that Next returns the context's cause, wrapping
// the error it was retrying.
func TestNextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("stop")
	cancel(stop)
	throttle := &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}
	r, err := NewShardReader(&scripted{iterErrs: []error{throttle}}, ReaderOptions{Stream: "s", ShardID: "shard-0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(ctx); !errors.Is(err, stop) || !errors.As(err, &throttle) {
		t.Errorf("Next = %v, want stop wrapping the throttling error", err)
	}
}
