package sink

import "time"

// Defaults of Config, filled in by Config.Validate; the s3sink flags default to
// them too.
const (
	// DefaultGroup is the default consumer group.
	DefaultGroup = "pinpipe-s3sink"
	// DefaultFlushSize is the default number of records per object: 1, the
	// original's flush.size.
	DefaultFlushSize = 1
	// DefaultSessionTimeout is the default consumer group session timeout.
	DefaultSessionTimeout = 10 * time.Second
	// MinSessionTimeout is the shortest session timeout: Kafka brokers'
	// default group.min.session.timeout.ms, and room for the lease of a
	// partition's writes (PROTOCOL.md).
	MinSessionTimeout = 6 * time.Second
	// DefaultUnhealthyAfter is how long, by default, the sink may be out of
	// its group or failing to store before Health reports it.
	DefaultUnhealthyAfter = time.Minute
	// DefaultInFlight is the default number of objects per partition being
	// stored at once.
	DefaultInFlight = 16
	// MinRotateSchedule is the shortest wall-clock rotation: each cut is an
	// object stored and an offset committed.
	MinRotateSchedule = 100 * time.Millisecond
	// DefaultShutdownTimeout is the default bound of the final flush.
	DefaultShutdownTimeout = 30 * time.Second
)
