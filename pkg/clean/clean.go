package clean

import (
	"errors"
	"slices"
)

// ErrBlank is returned for a line that is empty or only white space: it is
// not a record, so it is skipped and counted (TableQuality.BlankLines), not rejected.
var ErrBlank = errors.New("blank line")

// Reason says why a record was rejected.
type Reason string

// The reasons a record is rejected (cleaning.md "General"). Nothing else rejects a row.
const (
	ReasonInvalidJSON     Reason = "invalid_json"      // not strict RFC 8259 JSON / not valid UTF-8 / truncated
	ReasonNotObject       Reason = "not_object"        // valid JSON, but not an object
	ReasonMissingKey      Reason = "missing_key"       // ind (or index for pin) absent or null
	ReasonInvalidKey      Reason = "invalid_key"       // key present but not an integer in [0, 2^31-1]
	ReasonMissingUniqueID Reason = "missing_unique_id" // pin only: unique_id absent, null or empty
	// ReasonUnexpected is the reason NewRejected gives an error that is not a
	// *RecordError of one of the reasons above. A Cleaner never returns one
	// (nor counts it): it marks a bug, kept in the quarantine rather than lost.
	ReasonUnexpected Reason = "unexpected_error"
	// The reasons of a Kinesis record that claims KPL aggregation (it starts
	// with the KPL magic bytes) but cannot be unpacked into its user records:
	// the stream job quarantines it whole. A Cleaner never returns them.
	ReasonKPLChecksum  Reason = "kpl_checksum"  // its MD5 digest is not that of its protobuf message
	ReasonKPLMalformed Reason = "kpl_malformed" // too short, or the message is not a valid AggregatedRecord
)

// Reasons lists every rejection reason.
var Reasons = [...]Reason{ReasonInvalidJSON, ReasonNotObject, ReasonMissingKey, ReasonInvalidKey,
	ReasonMissingUniqueID, ReasonUnexpected, ReasonKPLChecksum, ReasonKPLMalformed}

// known reports whether r is one of Reasons.
func (r Reason) known() bool { return slices.Contains(Reasons[:], r) }

// RecordError is the error returned for a rejected record.
type RecordError struct {
	Table  Table
	Reason Reason
	Field  string // the offending field, when there is one ("ind", "index", "unique_id")
	Detail string // a short human-readable explanation (at most ~100 bytes, no raw dumps)
}

func (e *RecordError) Error() string {
	s := string(e.Table) + ": " + string(e.Reason)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}
