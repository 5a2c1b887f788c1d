package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

// KinesisAPI is the part of the Kinesis client the gateway uses;
// *kinesis.Client implements it.
type KinesisAPI interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
	ListStreams(ctx context.Context, in *kinesis.ListStreamsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListStreamsOutput, error)
	DescribeStream(ctx context.Context, in *kinesis.DescribeStreamInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamOutput, error)
	CreateStream(ctx context.Context, in *kinesis.CreateStreamInput, optFns ...func(*kinesis.Options)) (*kinesis.CreateStreamOutput, error)
	DeleteStream(ctx context.Context, in *kinesis.DeleteStreamInput, optFns ...func(*kinesis.Options)) (*kinesis.DeleteStreamOutput, error)
}

// maxPartitionKey is Kinesis' limit of a partition key, in characters.
const maxPartitionKey = 256

// allowedMethods are the methods of each stream route.
var allowedMethods = map[string][]string{
	routeListStreams: {http.MethodGet},
	routeStream:      {http.MethodGet, http.MethodPost, http.MethodDelete},
	routePutRecord:   {http.MethodPut},
	routePutRecords:  {http.MethodPut},
}

// streams answers the resources under /streams; rest is the path after it.
func (g *Gateway) streams(w http.ResponseWriter, r *http.Request, rest []string) string {
	route := routeOther
	switch {
	case len(rest) == 0 || (len(rest) == 1 && rest[0] == ""):
		route = routeListStreams
	case len(rest) == 1:
		route = routeStream
	case len(rest) == 2 && rest[1] == "record":
		route = routePutRecord
	case len(rest) == 2 && rest[1] == "records":
		route = routePutRecords
	default:
		writeJSON(w, http.StatusNotFound, KinesisError{Type: "NotFound", Message: fmt.Sprintf("no resource %s", r.URL.Path)})
		return route
	}
	if g.cfg.Kinesis == nil {
		writeJSON(w, http.StatusNotFound, KinesisError{Type: "NotFound", Message: "this gateway has no Kinesis backend"})
		return route
	}
	want := allowedMethods[route]
	allowed := false
	for _, m := range want {
		allowed = allowed || r.Method == m
	}
	if !allowed {
		writeJSON(w, http.StatusMethodNotAllowed, KinesisError{Type: "MethodNotAllowed", Message: fmt.Sprintf("%s %s: want %v", r.Method, r.URL.Path, want)})
		return route
	}
	ctx := r.Context()
	switch route {
	case routeListStreams:
		ans, err := g.listStreams(ctx)
		if err != nil {
			g.kinesisFailed(w, "", err)
			return route
		}
		g.kinesisH.observe(nil)
		writeJSON(w, http.StatusOK, ans)
	case routeStream:
		g.stream(w, r, rest[0])
	case routePutRecord:
		g.putRecord(w, r, rest[0])
	case routePutRecords:
		g.putRecords(w, r, rest[0])
	}
	return route
}

// maxListPages bounds the ListStreams calls of one GET /streams.
const maxListPages = 100

// listStreams lists the streams, following Kinesis' pages (the original's
// integration answered the first page only): HasMoreStreams is true only
// past maxListPages pages.
func (g *Gateway) listStreams(ctx context.Context) (ListStreamsResponse, error) {
	ans := ListStreamsResponse{StreamNames: []string{}}
	in := &kinesis.ListStreamsInput{}
	for range maxListPages {
		out, err := g.cfg.Kinesis.ListStreams(ctx, in)
		if err != nil {
			return ans, err
		}
		ans.StreamNames = append(ans.StreamNames, out.StreamNames...)
		ans.HasMoreStreams = aws.ToBool(out.HasMoreStreams)
		if !ans.HasMoreStreams || len(out.StreamNames) == 0 {
			break
		}
		in = &kinesis.ListStreamsInput{ExclusiveStartStreamName: aws.String(out.StreamNames[len(out.StreamNames)-1])}
	}
	return ans, nil
}

// stream answers GET, POST and DELETE /streams/{stream}.
func (g *Gateway) stream(w http.ResponseWriter, r *http.Request, name string) {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
		out, err := g.cfg.Kinesis.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)})
		if err != nil {
			g.kinesisFailed(w, name, err)
			return
		}
		g.kinesisH.observe(nil)
		writeJSON(w, http.StatusOK, DescribeStreamResponse{StreamDescription: describe(out.StreamDescription)})
	case http.MethodPost:
		body, ok := g.kinesisBody(w, r, routeStream)
		if !ok {
			return
		}
		var req CreateStreamRequest
		if err := json.Unmarshal(body, &req); err != nil || req.ShardCount < 1 {
			msg := `want {"ShardCount": n} with n at least 1`
			if err != nil {
				msg = jsonError(body, err) + ": " + msg
			}
			writeJSON(w, http.StatusBadRequest, KinesisError{Type: "BadRequest", Message: msg})
			return
		}
		if _, err := g.cfg.Kinesis.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(req.ShardCount)}); err != nil {
			g.kinesisFailed(w, name, err)
			return
		}
		g.kinesisH.observe(nil)
		writeJSON(w, http.StatusOK, struct{}{})
	case http.MethodDelete:
		if _, err := g.cfg.Kinesis.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(name)}); err != nil {
			g.kinesisFailed(w, name, err)
			return
		}
		g.kinesisH.observe(nil)
		writeJSON(w, http.StatusOK, struct{}{})
	}
}

func describe(d *types.StreamDescription) StreamDescription {
	if d == nil {
		return StreamDescription{Shards: []Shard{}}
	}
	out := StreamDescription{
		StreamName:           aws.ToString(d.StreamName),
		StreamARN:            aws.ToString(d.StreamARN),
		StreamStatus:         string(d.StreamStatus),
		RetentionPeriodHours: aws.ToInt32(d.RetentionPeriodHours),
		EncryptionType:       string(d.EncryptionType),
		HasMoreShards:        aws.ToBool(d.HasMoreShards),
		Shards:               make([]Shard, 0, len(d.Shards)),
	}
	if d.StreamCreationTimestamp != nil {
		out.StreamCreationTimestamp = float64(d.StreamCreationTimestamp.UnixMilli()) / 1000
	}
	for _, s := range d.Shards {
		sh := Shard{ShardID: aws.ToString(s.ShardId), ParentShardID: aws.ToString(s.ParentShardId), AdjacentParentShardID: aws.ToString(s.AdjacentParentShardId)}
		if s.HashKeyRange != nil {
			sh.HashKeyRange = KeyRange{StartingHashKey: aws.ToString(s.HashKeyRange.StartingHashKey), EndingHashKey: aws.ToString(s.HashKeyRange.EndingHashKey)}
		}
		if s.SequenceNumberRange != nil {
			sh.SequenceNumberRange = SeqNumRange{StartingSequenceNumber: aws.ToString(s.SequenceNumberRange.StartingSequenceNumber), EndingSequenceNumber: aws.ToString(s.SequenceNumberRange.EndingSequenceNumber)}
		}
		out.Shards = append(out.Shards, sh)
	}
	return out
}

// kinesisBody reads a JSON request body, answering a bad one.
func (g *Gateway) kinesisBody(w http.ResponseWriter, r *http.Request, route string) ([]byte, bool) {
	if ct := mediaType(r.Header.Get("Content-Type")); ct != "application/json" && ct != "" {
		writeJSON(w, http.StatusUnsupportedMediaType, KinesisError{Type: "UnsupportedMediaType", Message: fmt.Sprintf("Content-Type %q: want application/json", ct)})
		return nil, false
	}
	body, tooLarge, err := g.readBody(w, r, route)
	switch {
	case tooLarge:
		writeJSON(w, http.StatusRequestEntityTooLarge, KinesisError{Type: "RequestTooLarge", Message: err.Error()})
		return nil, false
	case err != nil:
		writeJSON(w, http.StatusBadRequest, KinesisError{Type: "BadRequest", Message: err.Error()})
		return nil, false
	}
	return body, true
}

// recordData checks one record's data and partition key and returns the
// bytes the Kinesis record holds: the JSON text of data.
func (g *Gateway) recordData(data json.RawMessage, key, field string) ([]byte, error) {
	if data == nil || bytes.Equal(data, []byte("null")) {
		return nil, fmt.Errorf("%s has no data", field)
	}
	if key == "" || len(key) > maxPartitionKey {
		return nil, fmt.Errorf("%s: partition key of %d characters: want 1 to %d", field, len(key), maxPartitionKey)
	}
	if n := len(data) + len(key); n > g.cfg.MaxRecordBytes {
		return nil, fmt.Errorf("%s: data and partition key of %d bytes: the limit is %d", field, n, g.cfg.MaxRecordBytes)
	}
	return data, nil
}

// putRecord answers PUT /streams/{stream}/record.
func (g *Gateway) putRecord(w http.ResponseWriter, r *http.Request, stream string) {
	body, ok := g.kinesisBody(w, r, routePutRecord)
	if !ok {
		return
	}
	var req PutRecordRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, KinesisError{Type: "BadRequest", Message: "malformed request body: " + jsonError(body, err) + ` (want {"StreamName":...,"Data":{...},"PartitionKey":"..."})`})
		return
	}
	data, err := g.recordData(req.Data, req.PartitionKey, "the record")
	if err != nil {
		writeJSON(w, http.StatusBadRequest, KinesisError{Type: "BadRequest", Message: err.Error() + ` (want {"StreamName":...,"Data":{...},"PartitionKey":"..."})`})
		return
	}
	res := g.batcher.put(stream, types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(req.PartitionKey)})
	if res.err != nil {
		g.cfg.Metrics.stored("kinesis", 0, 1)
		g.kinesisFailed(w, stream, res.err)
		return
	}
	if code := aws.ToString(res.entry.ErrorCode); code != "" {
		g.cfg.Metrics.stored("kinesis", 0, 1)
		g.kinesisH.observe(nil) // Kinesis answered
		e := KinesisError{Type: code, Message: aws.ToString(res.entry.ErrorMessage)}
		status := http.StatusBadRequest
		if isThrottle(code) {
			e.Retryable, status = true, http.StatusServiceUnavailable
		}
		g.cfg.Logger.Warn("kinesis put record", "stream", stream, "error", code, "message", e.Message)
		writeJSON(w, status, e)
		return
	}
	ans := PutRecordResponse{SequenceNumber: aws.ToString(res.entry.SequenceNumber), ShardID: aws.ToString(res.entry.ShardId), EncryptionType: string(res.encryption)}
	g.cfg.Metrics.stored("kinesis", 1, 0)
	g.kinesisH.observe(nil)
	writeJSON(w, http.StatusOK, ans)
}

// putRecords answers PUT /streams/{stream}/records.
func (g *Gateway) putRecords(w http.ResponseWriter, r *http.Request, stream string) {
	body, ok := g.kinesisBody(w, r, routePutRecords)
	if !ok {
		return
	}
	const want = ` (want {"records":[{"data":{...},"partition-key":"..."}]})`
	var req PutRecordsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, KinesisError{Type: "BadRequest", Message: "malformed request body: " + jsonError(body, err) + want})
		return
	}
	if len(req.Records) == 0 || len(req.Records) > maxPutRecords {
		writeJSON(w, http.StatusBadRequest, KinesisError{Type: "BadRequest", Message: fmt.Sprintf("%d records: want 1 to %d", len(req.Records), maxPutRecords) + want})
		return
	}
	entries := make([]types.PutRecordsRequestEntry, len(req.Records))
	for i, e := range req.Records {
		data, err := g.recordData(e.Data, e.PartitionKey, fmt.Sprintf("records[%d]", i))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, KinesisError{Type: "BadRequest", Message: err.Error() + want})
			return
		}
		entries[i] = types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(e.PartitionKey)}
	}
	out, err := g.cfg.Kinesis.PutRecords(context.WithoutCancel(r.Context()), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	if err == nil && len(out.Records) != len(entries) {
		err = &countError{got: len(out.Records), want: len(entries)}
	}
	if err != nil {
		g.cfg.Metrics.stored("kinesis", 0, len(entries))
		g.kinesisFailed(w, stream, err)
		return
	}
	ans := PutRecordsResponse{Records: make([]PutRecordsResult, len(out.Records)), EncryptionType: string(out.EncryptionType)}
	for i, rr := range out.Records {
		ans.Records[i] = PutRecordsResult{SequenceNumber: aws.ToString(rr.SequenceNumber), ShardID: aws.ToString(rr.ShardId),
			ErrorCode: aws.ToString(rr.ErrorCode), ErrorMessage: aws.ToString(rr.ErrorMessage)}
		if rr.ErrorCode != nil {
			ans.FailedRecordCount++
		}
	}
	g.cfg.Metrics.stored("kinesis", len(entries)-ans.FailedRecordCount, ans.FailedRecordCount)
	g.kinesisH.observe(nil)
	if ans.FailedRecordCount > 0 {
		g.cfg.Logger.Warn("kinesis put records", "stream", stream, "records", len(entries), "failed", ans.FailedRecordCount)
	}
	writeJSON(w, http.StatusOK, ans)
}

// kinesisFailed answers a failed Kinesis call: the client's mistakes (no
// such stream, bad argument) with 4xx and Kinesis' exception name, the
// backend being down or throttling with 503 and a retryable body.
func (g *Gateway) kinesisFailed(w http.ResponseWriter, stream string, err error) {
	status, e := kinesisError(err)
	if e.Retryable {
		g.kinesisH.observe(err)
		g.cfg.Logger.Warn("kinesis", "stream", stream, "err", err)
	} else {
		g.kinesisH.observe(nil) // Kinesis answered
	}
	writeJSON(w, status, e)
}

func kinesisError(err error) (int, KinesisError) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e := KinesisError{Type: ae.ErrorCode(), Message: ae.ErrorMessage()}
		var nf *types.ResourceNotFoundException
		var inUse *types.ResourceInUseException
		switch {
		case errors.As(err, &nf):
			return http.StatusNotFound, e
		case errors.As(err, &inUse):
			return http.StatusConflict, e
		case ae.ErrorFault() == smithy.FaultServer, isThrottle(ae.ErrorCode()):
			e.Retryable = true
			return http.StatusServiceUnavailable, e
		}
		return http.StatusBadRequest, e
	}
	var ne net.Error
	msg := "Kinesis unreachable: " + err.Error()
	if !errors.As(err, &ne) {
		msg = "Kinesis: " + err.Error()
	}
	return http.StatusServiceUnavailable, KinesisError{Type: "ServiceUnavailable", Message: msg, Retryable: true}
}

func isThrottle(code string) bool {
	switch code {
	case "ProvisionedThroughputExceededException", "LimitExceededException", "ThrottlingException",
		"KMSThrottlingException", "InternalFailure", "ServiceUnavailable":
		return true
	}
	return false
}
