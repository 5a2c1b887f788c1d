package gateway

import (
	"encoding/json"
	"strconv"
)

// The wire shapes of the original's HTTP producers (data.md §4): the Kafka
// REST Proxy v2 produce API and the API Gateway Kinesis integration. They
// are written once, here: the gateway decodes requests and encodes answers
// with them, and pkg/emit's HTTP sinks encode requests and decode answers
// with them.

// Content types of the Kafka REST Proxy v2.
const (
	// ContentTypeJSON is a produce request in the JSON embedded format: keys
	// and values are any JSON, stored as their JSON text.
	ContentTypeJSON = "application/vnd.kafka.json.v2+json"
	// ContentTypeBinary is a produce request in the binary embedded format:
	// keys and values are base64 strings, stored decoded.
	ContentTypeBinary = "application/vnd.kafka.binary.v2+json"
	// ContentTypeAnswer is the content type of the proxy's answers.
	ContentTypeAnswer = "application/vnd.kafka.v2+json"
)

// ProduceRequest is the body of POST /topics/{topic}.
type ProduceRequest struct {
	Records []ProduceRecord `json:"records"`
}

// ProduceRecord is one record of a ProduceRequest. Key and Value are JSON
// values (in the binary format, base64 strings); an absent or null key has
// no key. Partition, when set, is the partition to write to; otherwise the
// key's murmur2 hash chooses it (as the Java producer of the REST Proxy
// does), or, without a key, any partition.
type ProduceRecord struct {
	Key       json.RawMessage `json:"key,omitempty"`
	Value     json.RawMessage `json:"value"`
	Partition *int32          `json:"partition,omitempty"`
}

// ProduceResponse is the body of a 200 answer to a ProduceRequest: one
// ProduceOffset per record, in request order.
type ProduceResponse struct {
	KeySchemaID   *int            `json:"key_schema_id"`
	ValueSchemaID *int            `json:"value_schema_id"`
	Offsets       []ProduceOffset `json:"offsets"`
}

// ProduceOffset is where one record was stored, or, with ErrorCode set, why
// it was not: 1 a permanent Kafka error, 2 a retriable one (send it again).
type ProduceOffset struct {
	Partition *int32  `json:"partition"`
	Offset    *int64  `json:"offset"`
	ErrorCode *int    `json:"error_code"`
	Error     *string `json:"error"`
}

// Per-record error codes of a ProduceOffset.
const (
	RecordErrorPermanent = 1
	RecordErrorRetriable = 2
)

// ProxyError is the body of every non-200 answer of the REST Proxy API:
// ErrorCode is the HTTP status times 100 plus a sub-code (40401 topic not
// found), or the bare status. Retryable is pinpipe's addition: true when the
// same request may succeed later (the backend is down or busy).
type ProxyError struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable,omitempty"`
}

// Error codes of a ProxyError.
const (
	ProxyTopicNotFound     = 40401
	ProxyPartitionNotFound = 40402
	ProxyRecordTooLarge    = 42201
	ProxyInvalidRecords    = 42205
	ProxyKafkaError        = 50002
	ProxyKafkaRetriable    = 50003
)

// PutRecordRequest is the body of PUT /streams/{stream}/record. Data is the
// record, a JSON value; its JSON text is what the Kinesis record holds.
// StreamName is ignored (the stream is the one in the path; the original's
// producers send a placeholder, not always a string).
type PutRecordRequest struct {
	StreamName   any             `json:"StreamName,omitempty"`
	Data         json.RawMessage `json:"Data"`
	PartitionKey string          `json:"PartitionKey"`
}

// PutRecordResponse is the body of a 200 answer to a PutRecordRequest.
type PutRecordResponse struct {
	SequenceNumber string `json:"SequenceNumber"`
	ShardID        string `json:"ShardId"`
	EncryptionType string `json:"EncryptionType,omitempty"`
}

// PutRecordsRequest is the body of PUT /streams/{stream}/records.
type PutRecordsRequest struct {
	Records []PutRecordsEntry `json:"records"`
}

// PutRecordsEntry is one record of a PutRecordsRequest; Data as in
// PutRecordRequest.
type PutRecordsEntry struct {
	Data         json.RawMessage `json:"data"`
	PartitionKey string          `json:"partition-key"`
}

// PutRecordsResponse is the body of a 200 answer to a PutRecordsRequest, the
// Kinesis PutRecords result: one entry per record, in request order; failed
// entries have ErrorCode set and were not stored.
type PutRecordsResponse struct {
	FailedRecordCount int                `json:"FailedRecordCount"`
	Records           []PutRecordsResult `json:"Records"`
	EncryptionType    string             `json:"EncryptionType,omitempty"`
}

// PutRecordsResult is the result of one PutRecordsEntry.
type PutRecordsResult struct {
	SequenceNumber string `json:"SequenceNumber,omitempty"`
	ShardID        string `json:"ShardId,omitempty"`
	ErrorCode      string `json:"ErrorCode,omitempty"`
	ErrorMessage   string `json:"ErrorMessage,omitempty"`
}

// CreateStreamRequest is the body of POST /streams/{stream}.
type CreateStreamRequest struct {
	ShardCount int32 `json:"ShardCount"`
}

// ListStreamsResponse is the body of a 200 answer to GET /streams.
type ListStreamsResponse struct {
	HasMoreStreams bool     `json:"HasMoreStreams"`
	StreamNames    []string `json:"StreamNames"`
}

// DescribeStreamResponse is the body of a 200 answer to GET
// /streams/{stream}, Kinesis' DescribeStream result.
type DescribeStreamResponse struct {
	StreamDescription StreamDescription `json:"StreamDescription"`
}

// StreamDescription is the part of Kinesis' StreamDescription the gateway
// passes on. StreamCreationTimestamp is in seconds since the epoch, as
// Kinesis sends it.
type StreamDescription struct {
	StreamName              string  `json:"StreamName"`
	StreamARN               string  `json:"StreamARN"`
	StreamStatus            string  `json:"StreamStatus"`
	RetentionPeriodHours    int32   `json:"RetentionPeriodHours"`
	StreamCreationTimestamp float64 `json:"StreamCreationTimestamp"`
	EncryptionType          string  `json:"EncryptionType,omitempty"`
	HasMoreShards           bool    `json:"HasMoreShards"`
	Shards                  []Shard `json:"Shards"`
}

// Shard is one shard of a StreamDescription.
type Shard struct {
	ShardID               string      `json:"ShardId"`
	ParentShardID         string      `json:"ParentShardId,omitempty"`
	AdjacentParentShardID string      `json:"AdjacentParentShardId,omitempty"`
	HashKeyRange          KeyRange    `json:"HashKeyRange"`
	SequenceNumberRange   SeqNumRange `json:"SequenceNumberRange"`
}

// KeyRange is a shard's range of hash keys.
type KeyRange struct {
	StartingHashKey string `json:"StartingHashKey"`
	EndingHashKey   string `json:"EndingHashKey"`
}

// SeqNumRange is a shard's range of sequence numbers; an open shard has no
// end.
type SeqNumRange struct {
	StartingSequenceNumber string `json:"StartingSequenceNumber"`
	EndingSequenceNumber   string `json:"EndingSequenceNumber,omitempty"`
}

// KinesisError is the body of every non-200 answer of the Kinesis resources:
// Type is Kinesis' exception name (ResourceNotFoundException, ...) or the
// gateway's (BadRequest, Forbidden, RequestTooLarge, ServiceUnavailable).
// Retryable is true when the same request may succeed later.
type KinesisError struct {
	Type      string `json:"__type"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable,omitempty"`
}

// AppendJSON appends the request's JSON to dst, as json.Marshal would write
// it, without re-encoding the keys and values: each must be valid JSON (a
// producer's records usually are, and the gateway checks them), which
// json.Marshal would check and compact at several times the cost.
func (r ProduceRequest) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"records":[`...)
	for i, rec := range r.Records {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		if rec.Key != nil {
			dst = append(append(dst, `"key":`...), rec.Key...)
			dst = append(dst, ',')
		}
		dst = appendRaw(append(dst, `"value":`...), rec.Value)
		if rec.Partition != nil {
			dst = strconv.AppendInt(append(dst, `,"partition":`...), int64(*rec.Partition), 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// AppendJSON appends the request's JSON to dst; Data must be valid JSON (see
// ProduceRequest.AppendJSON).
func (r PutRecordRequest) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	if r.StreamName != nil {
		name, _ := json.Marshal(r.StreamName)
		dst = append(append(append(dst, `"StreamName":`...), name...), ',')
	}
	dst = appendRaw(append(dst, `"Data":`...), r.Data)
	dst = appendString(append(dst, `,"PartitionKey":`...), r.PartitionKey)
	return append(dst, '}')
}

// AppendJSON appends the request's JSON to dst; each Data must be valid JSON
// (see ProduceRequest.AppendJSON).
func (r PutRecordsRequest) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"records":[`...)
	for i, e := range r.Records {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendRaw(append(dst, `{"data":`...), e.Data)
		dst = appendString(append(dst, `,"partition-key":`...), e.PartitionKey)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

func appendRaw(dst []byte, v json.RawMessage) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	return append(dst, v...)
}

// appendString appends s as a JSON string, escaped as encoding/json does.
func appendString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(dst, b...)
}
