package parquetio

import (
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
)

// fastSnappy is the Snappy codec of the Parquet writer. arrow-go's own encodes
// with klauspost/compress's "better" Snappy encoder, which took about 40% of
// the time of encoding a pin file; the default encoder of the same library
// writes standard Snappy blocks too (any Snappy decoder reads them) about
// twice as fast, for files a few percent larger. Decoding is unchanged.
//
// It does not implement compress.StreamingCodec: arrow-go then decodes
// Snappy pages whole, as it does anyway (Snappy pages are blocks, not
// streams).
type fastSnappy struct{}

var fastSnappyOnce sync.Once

// UseFastSnappy makes Parquet files be written with the faster Snappy encoder
// described at fastSnappy: standard Snappy, any reader decodes it, files a few
// percent larger than with arrow-go's own codec, and different bytes. The
// binaries that write Parquet call it first thing in main; tests and
// benchmarks that measure or pin down the binaries' output call it too.
//
// It is process-wide: arrow-go looks codecs up in a registry (a plain map),
// and this replaces its Snappy codec for every writer and reader of the
// process (readers decode the same way). It is idempotent; its first call
// must not run while another goroutine writes or reads Parquet.
func UseFastSnappy() {
	fastSnappyOnce.Do(func() { compress.RegisterCodec(compress.Codecs.Snappy, fastSnappy{}) })
}

func (fastSnappy) Encode(dst, src []byte) []byte { return s2.EncodeSnappy(dst, src) }

func (fastSnappy) EncodeLevel(dst, src []byte, _ int) []byte { return s2.EncodeSnappy(dst, src) }

func (fastSnappy) CompressBound(n int64) int64 { return int64(snappy.MaxEncodedLen(int(n))) }

func (fastSnappy) Decode(dst, src []byte) []byte {
	out, err := snappy.Decode(dst, src)
	if err != nil {
		panic(err) // as arrow-go's codec; callers use DecodeWithError
	}
	return out
}

func (fastSnappy) DecodeWithError(dst, src []byte) ([]byte, error) { return snappy.Decode(dst, src) }
