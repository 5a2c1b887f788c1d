package parquetio

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// TestUseFastSnappy checks that UseFastSnappy registers the fast codec, is
// idempotent, and that a file it writes reads back as the same rows.
func TestUseFastSnappy(t *testing.T) {
	pins := benchPins(5000)
	for i := range pins {
		if !pins[i].FollowerCount.Valid {
			pins[i].FollowerCount.V = 0 // a null reads back as the zero value
		}
	}
	write := func() []byte {
		var buf bytes.Buffer
		if err := WritePins(&buf, pins, nil, Options{Compression: compress.Codecs.Snappy}); err != nil {
			t.Fatalf("WritePins: %v", err)
		}
		return buf.Bytes()
	}
	UseFastSnappy()
	UseFastSnappy()
	c, err := compress.GetCodec(compress.Codecs.Snappy)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(fastSnappy); !ok {
		t.Fatalf("Snappy codec is %T, want fastSnappy", c)
	}
	a, b := write(), write()
	if !bytes.Equal(a, b) {
		t.Error("two writes of the same rows differ")
	}
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	got, _, _, err := readPins(bytes.NewReader(a), mem, nil)
	if err != nil {
		t.Fatalf("readPins: %v", err)
	}
	if !reflect.DeepEqual(got, pins) {
		t.Error("the rows read back differ from the rows written")
	}
}
