// Package landing owns the names of a deployment and the key layout of the
// landed objects, each with its format and its parse side by side:
//
//   - the Kafka topics P.pin, P.geo, P.user of a deployment prefix P, and its
//     Kinesis streams streaming-P-pin, streaming-P-geo, streaming-P-user
//     (data.md §3);
//   - the key of an object the Kafka sink lands, in the layout of the
//     Confluent S3 sink connector with the default partitioner (data.md §5):
//     {topic}/partition={p}/{topic}+{p}+{startOffset:%010d}.json[.gz].
//
// The tables are clean.Table values. The package does no I/O.
package landing

import (
	"strings"

	"github.com/pinpipe/pinpipe/pkg/clean"
)

// Topic returns the Kafka topic of table t of the deployment prefix: "P.pin".
func Topic(prefix string, t clean.Table) string { return prefix + "." + string(t) }

// ParseTopic splits a topic named by Topic into its prefix and table. ok is
// false when topic is not "P.table" with a non-empty P and one of
// clean.Tables.
func ParseTopic(topic string) (prefix string, t clean.Table, ok bool) {
	return cutTable(topic, ".")
}

// streamPrefix starts every Kinesis stream name.
const streamPrefix = "streaming-"

// Stream returns the Kinesis stream of table t of the deployment prefix:
// "streaming-P-pin".
func Stream(prefix string, t clean.Table) string {
	return streamPrefix + prefix + "-" + string(t)
}

// ParseStream splits a stream named by Stream into its prefix and table. ok
// is false when stream is not "streaming-P-table" with a non-empty P and one
// of clean.Tables.
func ParseStream(stream string) (prefix string, t clean.Table, ok bool) {
	rest, found := strings.CutPrefix(stream, streamPrefix)
	if !found {
		return "", "", false
	}
	return cutTable(rest, "-")
}

// cutTable splits s into a non-empty prefix and one of clean.Tables joined
// by sep.
func cutTable(s, sep string) (string, clean.Table, bool) {
	for _, t := range clean.Tables {
		if p, found := strings.CutSuffix(s, sep+string(t)); found && p != "" {
			return p, t, true
		}
	}
	return "", "", false
}
