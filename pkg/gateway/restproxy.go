package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// produce answers POST /topics/{topic} as the Kafka REST Proxy v2 does.
func (g *Gateway) produce(w http.ResponseWriter, r *http.Request, topic string) {
	binary := false
	switch ct := mediaType(r.Header.Get("Content-Type")); ct {
	case ContentTypeJSON:
	case ContentTypeBinary:
		binary = true
	default:
		writeProxyError(w, http.StatusUnsupportedMediaType, ProxyError{ErrorCode: 415,
			Message: fmt.Sprintf("Content-Type %q: want %s or %s", ct, ContentTypeJSON, ContentTypeBinary)})
		return
	}
	body, tooLarge, err := g.readBody(w, r, routeProduce)
	if tooLarge {
		writeProxyError(w, http.StatusRequestEntityTooLarge, ProxyError{ErrorCode: 413, Message: err.Error()})
		return
	}
	if err != nil {
		writeProxyError(w, http.StatusBadRequest, ProxyError{ErrorCode: 400, Message: err.Error()})
		return
	}
	recs, status, perr := g.parseProduce(body, binary)
	if perr != nil {
		writeProxyError(w, status, *perr)
		return
	}
	parts, err := g.cfg.Kafka.Partitions(r.Context(), topic)
	switch {
	case errors.Is(err, ErrTopicNotFound):
		writeProxyError(w, http.StatusNotFound, ProxyError{ErrorCode: ProxyTopicNotFound, Message: fmt.Sprintf("Topic %s not found.", topic)})
		return
	case err != nil:
		g.kafkaH.observe(err)
		g.cfg.Logger.Warn("kafka metadata", "topic", topic, "err", err)
		writeProxyError(w, http.StatusServiceUnavailable, ProxyError{ErrorCode: ProxyKafkaRetriable, Message: err.Error(), Retryable: true})
		return
	}
	for i, rec := range recs {
		if rec.Partition >= int32(parts) {
			writeProxyError(w, http.StatusNotFound, ProxyError{ErrorCode: ProxyPartitionNotFound,
				Message: fmt.Sprintf("records[%d]: partition %d not found: topic %s has partitions 0 to %d", i, rec.Partition, topic, parts-1)})
			return
		}
	}
	res := g.cfg.Kafka.Produce(r.Context(), topic, recs)
	ans := ProduceResponse{Offsets: make([]ProduceOffset, len(res))}
	var ok, failed, retry int
	var lastErr error
	for i, rr := range res {
		if rr.Err != nil {
			failed++
			code := RecordErrorPermanent
			if retriable(rr.Err) {
				code = RecordErrorRetriable
				retry++
			}
			msg := rr.Err.Error()
			ans.Offsets[i] = ProduceOffset{ErrorCode: &code, Error: &msg}
			lastErr = rr.Err
			continue
		}
		ok++
		ans.Offsets[i] = ProduceOffset{Partition: &rr.Partition, Offset: &rr.Offset}
	}
	g.cfg.Metrics.stored("kafka", ok, failed)
	g.kafkaH.observe(lastErr)
	if failed > 0 {
		g.cfg.Logger.Warn("kafka produce", "topic", topic, "records", len(recs), "failed", failed, "err", lastErr)
	}
	if ok == 0 && failed > 0 { // nothing stored: one error for the request
		e := ProxyError{ErrorCode: ProxyKafkaError, Message: "Kafka error: " + lastErr.Error()}
		status := http.StatusInternalServerError
		if retry == failed {
			e = ProxyError{ErrorCode: ProxyKafkaRetriable, Message: "Kafka retriable error: " + lastErr.Error(), Retryable: true}
			status = http.StatusServiceUnavailable
		}
		writeProxyError(w, status, e)
		return
	}
	writeJSONType(w, http.StatusOK, ContentTypeAnswer, ans)
}

// parseProduce decodes a produce request body into records.
func (g *Gateway) parseProduce(body []byte, binary bool) ([]KafkaRecord, int, *ProxyError) {
	var req ProduceRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, http.StatusBadRequest, &ProxyError{ErrorCode: 400, Message: "malformed request body: " + jsonError(body, err) + ` (want {"records":[{"value":...}]})`}
	}
	if len(req.Records) == 0 {
		return nil, http.StatusUnprocessableEntity, &ProxyError{ErrorCode: ProxyInvalidRecords, Message: `request has no records (want {"records":[{"value":...}]})`}
	}
	recs := make([]KafkaRecord, len(req.Records))
	for i, pr := range req.Records {
		key, err := embedded(pr.Key, binary)
		if err != nil {
			return nil, http.StatusUnprocessableEntity, &ProxyError{ErrorCode: ProxyInvalidRecords, Message: fmt.Sprintf("records[%d].key: %v", i, err)}
		}
		if pr.Value == nil {
			return nil, http.StatusUnprocessableEntity, &ProxyError{ErrorCode: ProxyInvalidRecords, Message: fmt.Sprintf("records[%d] has no value", i)}
		}
		value, err := embedded(pr.Value, binary)
		if err != nil {
			return nil, http.StatusUnprocessableEntity, &ProxyError{ErrorCode: ProxyInvalidRecords, Message: fmt.Sprintf("records[%d].value: %v", i, err)}
		}
		if n := len(key) + len(value); n > g.cfg.MaxRecordBytes {
			return nil, http.StatusUnprocessableEntity, &ProxyError{ErrorCode: ProxyRecordTooLarge, Message: fmt.Sprintf("records[%d]: key and value of %d bytes: the limit is %d", i, n, g.cfg.MaxRecordBytes)}
		}
		recs[i] = KafkaRecord{Key: key, Value: value, Partition: -1}
		if pr.Partition != nil {
			if *pr.Partition < 0 {
				return nil, http.StatusUnprocessableEntity, &ProxyError{ErrorCode: 42202, Message: fmt.Sprintf("records[%d]: partition %d: want 0 or more", i, *pr.Partition)}
			}
			recs[i].Partition = *pr.Partition
		}
	}
	return recs, 0, nil
}

// embedded returns the bytes a key or value of the embedded format stands
// for: nil for absent or null; in the JSON format the JSON text, in the
// binary format the decoded base64 string.
func embedded(raw json.RawMessage, binary bool) ([]byte, error) {
	if raw == nil || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if !binary {
		return raw, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, errors.New("want a base64 string in the binary format")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64: %v", err)
	}
	return b, nil
}

// jsonError describes a JSON decoding error with its byte offset.
func jsonError(body []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s is a JSON %s", orBody(te.Field), te.Value)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return "empty body"
	}
	return err.Error()
}

func orBody(field string) string {
	if field == "" {
		return "the body"
	}
	return field
}
