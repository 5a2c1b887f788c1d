package landing_test

import (
	"fmt"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
)

func Example() {
	topic := landing.Topic("124a514b9149", clean.TablePin)
	fmt.Println(topic)
	fmt.Println(landing.Stream("124a514b9149", clean.TablePin))

	key := landing.Key{Topic: topic, Partition: 2, Start: 1500, Gzip: true}
	fmt.Println(key)

	k, err := landing.ParseKey("124a514b9149.pin/partition=2/124a514b9149.pin+2+0000001500.json.gz")
	fmt.Println(k == key, err)

	_, err = landing.ParseKey("124a514b9149.pin/partition=2/124a514b9149.pin+2+1500.json")
	fmt.Println(err)

	after, ok := landing.StartAfter(topic, 2, 1500)
	fmt.Println(after, ok)
	// Output:
	// 124a514b9149.pin
	// streaming-124a514b9149-pin
	// 124a514b9149.pin/partition=2/124a514b9149.pin+2+0000001500.json.gz
	// true <nil>
	// not a landed object key "124a514b9149.pin/partition=2/124a514b9149.pin+2+1500.json": start offset "1500" is not a decimal int64 >= 0 zero-padded to 10 digits; want {topic}/partition={p}/{topic}+{p}+{startOffset:%010d}.json[.gz]
	// 124a514b9149.pin/partition=2/124a514b9149.pin+2+0000001500 true
}
