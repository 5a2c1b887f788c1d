package batch_test

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// fixtureDir holds the shared sample fixture, {pin,geo,user}.jsonl.
const fixtureDir = "../../testdata/fixture"

// fixture returns the lines of the shared sample fixture, or, when it is
// absent, the dirty records of 1,000 posts of 300 sample rows (duplicates,
// blank lines, broken records).
func fixture(t testing.TB) topics {
	t.Helper()
	var in topics
	for i, tb := range clean.Tables {
		data, err := os.ReadFile(filepath.Join(fixtureDir, string(tb)+".jsonl"))
		if errors.Is(err, fs.ErrNotExist) {
			return generated(1000, 300)
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			in[i] = append(in[i], bytes.Clone(sc.Bytes()))
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return in
}

// generated returns the dirty records of posts drawn from rows sample rows.
func generated(posts, rows int) topics {
	g := sample.New(42)
	var in topics
	for _, i := range sample.Posts(42, rows, posts) {
		p, geo, u := g.DirtyRecords(i)
		in[0] = append(in[0], p)
		in[1] = append(in[1], geo)
		in[2] = append(in[2], u)
	}
	return in
}
