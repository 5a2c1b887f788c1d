package batch

import (
	"io"

	"github.com/pinpipe/pinpipe/pkg/report"
)

// The history cache's file format, for report_cache_test.go.

func DecodeHistoryCache(r io.Reader) (map[string]report.Table, error) {
	c, err := decodeHistoryCache(r)
	return c.Files, err
}

func EncodeHistoryCache(w io.Writer, files map[string]report.Table) error {
	return encodeHistoryCache(w, historyCache{Version: historyCacheVersion, Files: files})
}

// OldHistoryCacheFile is where older versions kept the cache, as JSON.
var OldHistoryCacheFile = oldHistoryCacheFile
