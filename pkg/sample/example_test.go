package sample_test

import (
	"fmt"

	"github.com/pinpipe/pinpipe/pkg/sample"
)

func ExamplePosts() {
	// The row numbers the emulator sends: draws with replacement.
	fmt.Println(sample.Posts(42, 10, 12))
	// Output:
	// [7 2 8 6 0 5 7 9 1 8 5 7]
}

func ExampleGenerator_Row() {
	g := sample.New(42)
	r := g.Row(7528)
	fmt.Println(string(r.GeoJSON()))
	fmt.Println(string(r.UserJSON()))
	// Output:
	// {"ind":7528,"timestamp":"2023-10-10 09:18:44","latitude":50.0812,"longitude":28.9919,"country":"Spain"}
	// {"ind":7528,"first_name":"William","last_name":"Johnson","age":44,"date_joined":"2016-12-27 19:06:06"}
}
