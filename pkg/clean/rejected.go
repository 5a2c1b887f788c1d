package clean

import (
	"errors"
	"unicode/utf8"
)

// MaxRawBytes bounds the raw text of a rejected record: a longer record is
// cut to at most this many bytes, at a rune boundary.
const MaxRawBytes = 64 << 10

// Rejected is a record kept out of a clean table: what the quarantines of
// the batch job and the stream job share. Where the record came from (an
// object and line, a shard and sequence number) is for the job to add.
type Rejected struct {
	Table  Table
	Reason Reason // one of Reasons
	Detail string // the error's detail, else its field, else ""
	Raw    string // the record, cut to MaxRawBytes
}

// NewRejected returns the rejected row of raw, a record of table t that a
// Cleaner refused with err (a *RecordError). The reason and detail are those
// of err; a RecordError without a detail gives its field as the detail. Any
// other error (the Cleaner returns none but ErrBlank, which is not a
// rejection) gives ReasonUnexpected, with the error's text as the detail.
// Raw is cut to MaxRawBytes at a rune boundary; it does not alias raw.
func NewRejected(t Table, err error, raw []byte) Rejected {
	r := Rejected{Table: t, Reason: ReasonUnexpected, Raw: string(cutRaw(raw))}
	var re *RecordError
	if errors.As(err, &re) && re.Reason.known() {
		r.Reason, r.Detail = re.Reason, re.Detail
		if r.Detail == "" {
			r.Detail = re.Field
		}
	} else if err != nil {
		r.Detail = err.Error()
	}
	return r
}

// cutRaw returns raw cut to at most MaxRawBytes bytes without splitting a
// UTF-8 sequence: the cut moves back to the start of the rune it would
// split (at most utf8.UTFMax-1 bytes).
func cutRaw(raw []byte) []byte {
	if len(raw) <= MaxRawBytes {
		return raw
	}
	n := MaxRawBytes
	for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(raw[n]); i++ {
		n--
	}
	return raw[:n]
}
