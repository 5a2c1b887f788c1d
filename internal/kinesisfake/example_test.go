package kinesisfake_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pinpipe/pinpipe/internal/kinesisfake"
	"github.com/pinpipe/pinpipe/pkg/kinesisx"
)

// A stream of one shard holds three records, then is split; a reader of
// the parent is throttled once, reads the three records and reaches the
// parent's end.
func Example() {
	clock := kinesisfake.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	f, err := kinesisfake.New(kinesisfake.Options{Now: clock.Now})
	if err != nil {
		panic(err)
	}
	if err := f.CreateStream("pins", 1); err != nil {
		panic(err)
	}
	for _, key := range []string{"a", "b", "c"} {
		if _, _, err := f.Put("pins", key, []byte("pin "+key)); err != nil {
			panic(err)
		}
		clock.Advance(time.Second)
	}
	lower, upper, err := f.SplitShard("pins", "shardId-000000000000", "")
	if err != nil {
		panic(err)
	}
	f.FailNth(kinesisfake.OpGetRecords, 1, &types.ProvisionedThroughputExceededException{})

	r, err := kinesisx.NewShardReader(f, kinesisx.ReaderOptions{Stream: "pins", ShardID: "shardId-000000000000",
		MinInterval: time.Nanosecond, MaxBackoff: time.Millisecond})
	if err != nil {
		panic(err)
	}
	for {
		b, err := r.Next(context.Background())
		if err != nil {
			panic(err)
		}
		for _, rec := range b.Records {
			fmt.Println(string(rec.Data), rec.Arrival.Format(time.TimeOnly))
		}
		if b.End {
			break
		}
	}
	fmt.Println("children:", lower, upper)
	fmt.Println("throttled:", r.Stats().Throttled, "GetRecords calls:", f.Calls(kinesisfake.OpGetRecords))
	// Output:
	// pin a 12:00:00
	// pin b 12:00:01
	// pin c 12:00:02
	// children: shardId-000000000001 shardId-000000000002
	// throttled: 1 GetRecords calls: 2
}
