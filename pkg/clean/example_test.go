package clean_test

import (
	"errors"
	"fmt"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

func ExampleCleaner_Pin() {
	c := clean.New()
	lines := []string{
		`{"index":7528,"unique_id":"fbe53c66","title":"No Title Data Available","follower_count":"1.2M",` +
			`"save_location":"Local save in /data/mens-fashion","category":" mens-fashion\u00a0","downloaded":1}`,
		`{"index":"x","unique_id":"u"}`,
		``,
	}
	for _, line := range lines {
		p, err := c.Pin([]byte(line))
		var re *clean.RecordError
		switch {
		case errors.Is(err, clean.ErrBlank):
			fmt.Println("blank line skipped")
		case errors.As(err, &re):
			fmt.Println("rejected:", re.Reason, re.Field)
		default:
			fmt.Println(p.Ind, p.UniqueID, p.Title.Valid, p.FollowerCount.V, p.SaveLocation.V, p.Category.V)
		}
	}
	q := c.Quality().Pin
	fmt.Println("read", q.RowsRead, "blank", q.BlankLines, "rejected", q.Rejected, "title placeholders", q.Nulls["title"].Placeholder)
	// Output:
	// 7528 fbe53c66 false 1200000 /data/mens-fashion mens-fashion
	// rejected: invalid_key index
	// blank line skipped
	// read 2 blank 1 rejected map[invalid_key:1] title placeholders 1
}
