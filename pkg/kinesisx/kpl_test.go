package kinesisx

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// kplFixtures are aggregated records made by other implementations of the
// KPL format (the KPL and awslabs/kinesis-aggregation), as published in the
// examples and tests of its consumers, with the user records they hold.
var kplFixtures = []struct {
	name string
	b64  string
	keys []string
	data []string
}{
	{"one key, three records",
		"84mawgoCcDEaGAgAGhQwMTIzNDU2Nzg5MDEyMzQ1NjdfQRoYCAAaFDAxMjM0NTY3ODkwMTIzNDU2N19CGhgIABoUMDEyMzQ1Njc4OTAxMjM0NTY3X0NHjL02iyRk3D+kO2UC2X6u",
		[]string{"p1", "p1", "p1"}, []string{"012345678901234567_A", "012345678901234567_B", "012345678901234567_C"}},
	{"two keys and an explicit hash key",
		"84mawgokODE2MjJiMGUtNWFlOC00YjUzLWE1ODUtYzZjYjc3ODBlNjgwCiQyNWQ0YzNjMS0zMWZlLTQyNGYtOTFmMy04MTI0MWRjYzY1OTASCXVuZGVmaW5lZBoRCAAQABoLeyJhIjoiQUJDIn0aEQgBEAAaC3siYiI6IkRFRiJ9jU+TcO1bDHHEgOGh8mJlCw==",
		[]string{"81622b0e-5ae8-4b53-a585-c6cb7780e680", "25d4c3c1-31fe-424f-91f3-81241dcc6590"}, []string{`{"a":"ABC"}`, `{"b":"DEF"}`}},
	{"a key per record",
		"84mawgoEcGstMAoEcGstMQoEcGstMhoTCAAaD3sibXNnIjoibGluZTAifRoTCAEaD3sibXNnIjoibGluZTEifRoTCAIaD3sibXNnIjoibGluZTIifZ8hyadI+v2KZPZrUGim6cQ=",
		[]string{"pk-0", "pk-1", "pk-2"}, []string{`{"msg":"line0"}`, `{"msg":"line1"}`, `{"msg":"line2"}`}},
}

func fixture(t testing.TB, b64 string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeaggregateFixtures(t *testing.T) {
	arrival := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for _, tc := range kplFixtures {
		t.Run(tc.name, func(t *testing.T) {
			rec := Record{Sequence: "4959", Arrival: arrival, PartitionKey: "outer", Data: fixture(t, tc.b64)}
			if !IsAggregated(rec.Data) {
				t.Fatal("IsAggregated = false")
			}
			got, err := Deaggregate(rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.data) {
				t.Fatalf("%d user records, want %d", len(got), len(tc.data))
			}
			for i, u := range got {
				want := Record{Sequence: "4959", Arrival: arrival, PartitionKey: tc.keys[i], Data: []byte(tc.data[i]),
					Aggregated: true, SubSequence: int64(i)}
				if fmt.Sprint(u) != fmt.Sprint(want) || !bytes.Equal(u.Data, want.Data) {
					t.Errorf("user record %d = %+v, want %+v", i, u, want)
				}
				if id := fmt.Sprintf("4959:%d", i); u.ID() != id {
					t.Errorf("ID() = %q, want %q", u.ID(), id)
				}
			}
		})
	}
}

func TestDeaggregatePlain(t *testing.T) {
	for _, data := range []string{`{"index": 1}`, "", "\xf3\x89\x9a", "not json"} {
		rec := Record{Sequence: "7", PartitionKey: "k", Data: []byte(data)}
		got, err := Deaggregate(rec)
		if err != nil || len(got) != 1 || string(got[0].Data) != data || got[0].Aggregated || got[0].ID() != "7" {
			t.Errorf("Deaggregate(%q) = %+v, %v; want the record alone", data, got, err)
		}
	}
}

// TestAggregatorRoundTrip: what an Aggregator builds, Deaggregate reads back,
// and it rebuilds a fixture byte for byte.
func TestAggregatorRoundTrip(t *testing.T) {
	var a Aggregator
	keys := []string{"a", "b", "a", "", "c", "b"}
	data := [][]byte{[]byte(`{"index": 1}`), {}, bytes.Repeat([]byte("x"), 300), []byte("\x00\xff"), []byte("y"), []byte(`z`)}
	for round := range 2 { // the second after a Reset
		for i := range keys {
			want := a.SizeWith(keys[i], data[i])
			a.Add(keys[i], data[i])
			if a.Size() != want {
				t.Fatalf("round %d record %d: Size %d, SizeWith said %d", round, i, a.Size(), want)
			}
		}
		b := a.Bytes()
		if len(b) != a.Size() || a.Len() != len(keys) {
			t.Fatalf("%d bytes, Size %d; Len %d", len(b), a.Size(), a.Len())
		}
		got, err := Deaggregate(Record{Sequence: "1", Data: b})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(keys) {
			t.Fatalf("%d user records, want %d", len(got), len(keys))
		}
		for i, u := range got {
			if u.PartitionKey != keys[i] || !bytes.Equal(u.Data, data[i]) || u.SubSequence != int64(i) || !u.Aggregated {
				t.Errorf("round %d: user record %d = %+v, want key %q data %q", round, i, u, keys[i], data[i])
			}
		}
		a.Reset()
	}
	// A fixture of the reference implementation, built again.
	fx := kplFixtures[2]
	for i := range fx.data {
		a.Add(fx.keys[i], []byte(fx.data[i]))
	}
	if got, want := a.Bytes(), fixture(t, fx.b64); !bytes.Equal(got, want) {
		t.Errorf("Aggregator built\n%x\nthe reference implementation\n%x", got, want)
	}
}

// aggregated wraps a protobuf message written by hand in the magic bytes and
// its digest.
func aggregated(msg []byte) []byte {
	sum := md5.Sum(msg)
	return append(append(append([]byte{}, kplMagic...), msg...), sum[:]...)
}

// record encodes a Record message by hand, field by field.
func record(fields ...func([]byte) []byte) []byte {
	var b []byte
	for _, f := range fields {
		b = f(b)
	}
	return b
}

func varintField(num protowire.Number, v uint64) func([]byte) []byte {
	return func(b []byte) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
	}
}

func bytesField(num protowire.Number, v []byte) func([]byte) []byte {
	return func(b []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
	}
}

func TestDeaggregateHandEncoded(t *testing.T) {
	key := bytesField(1, []byte("k"))
	tag := record(bytesField(1, []byte("source")), bytesField(2, []byte("test")))
	good := record(varintField(1, 0), bytesField(3, []byte("one")))
	tests := []struct {
		name string
		data []byte
		want []string // the user records' data, or nil for an error
		err  error
		msg  string // in the error
	}{
		{"tags, explicit hash keys and unknown fields are skipped",
			aggregated(record(key, bytesField(2, []byte("123")), bytesField(3, record(varintField(1, 0), varintField(2, 0),
				bytesField(3, []byte("one")), bytesField(4, tag), varintField(9, 5))), varintField(7, 1), bytesField(3, good))),
			[]string{"one", "one"}, nil, ""},
		{"empty data", aggregated(record(key, bytesField(3, record(varintField(1, 0), bytesField(3, nil))))), []string{""}, nil, ""},
		{"fields in any order", aggregated(record(bytesField(3, record(bytesField(3, []byte("x")), varintField(1, 0))), key)), []string{"x"}, nil, ""},
		{"just the magic", kplMagic, nil, ErrKPLMalformed, "4 bytes, shorter than"},
		{"shorter than the digest", append(append([]byte{}, kplMagic...), make([]byte, 15)...), nil, ErrKPLMalformed, "19 bytes"},
		{"empty message", aggregated(nil), nil, ErrKPLMalformed, "no user records"},
		{"keys but no records", aggregated(record(key)), nil, ErrKPLMalformed, "no user records"},
		{"no partition key index", aggregated(record(key, bytesField(3, record(bytesField(3, []byte("x")))))), nil, ErrKPLMalformed, "record 0: no partition_key_index"},
		{"no data", aggregated(record(key, bytesField(3, good), bytesField(3, record(varintField(1, 0))))), nil, ErrKPLMalformed, "record 1: no data"},
		{"key index out of range", aggregated(record(key, bytesField(3, record(varintField(1, 1), bytesField(3, []byte("x")))))), nil, ErrKPLMalformed, "partition key index 1, the table has 1 keys"},
		{"no key table", aggregated(record(bytesField(3, good))), nil, ErrKPLMalformed, "the table has 0 keys"},
		{"records as a varint", aggregated(record(key, varintField(3, 1))), nil, ErrKPLMalformed, "field 3 has wire type 0"},
		{"data as a varint", aggregated(record(key, bytesField(3, record(varintField(1, 0), varintField(3, 1))))), nil, ErrKPLMalformed, "field 3 has wire type 0"},
		{"truncated message", aggregated(record(key, bytesField(3, good))[:8]), nil, ErrKPLMalformed, "unexpected EOF"},
		{"truncated record", aggregated(record(key, bytesField(3, good[:len(good)-1]))), nil, ErrKPLMalformed, "record 0"},
		{"bad digest", append(aggregated(record(key, bytesField(3, good)))[:len(aggregated(record(key, bytesField(3, good))))-1], 0), nil, ErrKPLChecksum, "MD5"},
		{"a JSON record after the magic", append(append([]byte{}, kplMagic...), []byte(`{"index": 1, "unique_id": "u"}`)...), nil, ErrKPLChecksum, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Deaggregate(Record{Sequence: "1", Data: tc.data})
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(fmt.Sprint(err), tc.msg) || got != nil {
					t.Fatalf("Deaggregate = %d records, %v; want no record and %v with %q", len(got), err, tc.err, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var data []string
			for _, u := range got {
				data = append(data, string(u.Data))
			}
			if fmt.Sprint(data) != fmt.Sprint(tc.want) {
				t.Errorf("user records %q, want %q", data, tc.want)
			}
		})
	}
}

func TestID(t *testing.T) {
	tests := []struct {
		rec Record
		id  string
	}{
		{Record{Sequence: "49590338271490256608559692538361571095921575989136588898"}, "49590338271490256608559692538361571095921575989136588898"},
		{Record{Sequence: "4959", Aggregated: true}, "4959:0"},
		{Record{Sequence: "4959", Aggregated: true, SubSequence: 12}, "4959:12"},
	}
	for _, tc := range tests {
		if got := tc.rec.ID(); got != tc.id {
			t.Errorf("ID() = %q, want %q", got, tc.id)
		}
	}
}

// FuzzDeaggregate: any data either is not aggregated (returned alone),
// unpacks, or fails with one of the two errors; what unpacks builds again
// into a record that unpacks to the same user records. With wrap, the input
// is the protobuf message, given the magic bytes and its digest, so that the
// fuzzer explores the message rather than the checksum.
func FuzzDeaggregate(f *testing.F) {
	for _, fx := range kplFixtures {
		b := fixture(f, fx.b64)
		f.Add(b, false)
		f.Add(b[len(kplMagic):len(b)-md5.Size], true)
	}
	f.Add([]byte(`{"index": 1}`), false)
	f.Add(record(bytesField(1, []byte("k")), bytesField(3, record(varintField(1, 0), bytesField(3, []byte("x")), bytesField(4, []byte{10, 1, 'a'})))), true)
	f.Fuzz(func(t *testing.T, data []byte, wrap bool) {
		if wrap {
			data = aggregated(data)
		}
		got, err := Deaggregate(Record{Sequence: "5", Data: data})
		if err != nil {
			if !errors.Is(err, ErrKPLChecksum) && !errors.Is(err, ErrKPLMalformed) {
				t.Fatalf("error %v is neither ErrKPLChecksum nor ErrKPLMalformed", err)
			}
			if !IsAggregated(data) || got != nil || (wrap && errors.Is(err, ErrKPLChecksum)) {
				t.Fatalf("error %v for a record that is not aggregated, or with records, or a good digest", err)
			}
			return
		}
		if !IsAggregated(data) {
			if len(got) != 1 || !bytes.Equal(got[0].Data, data) || got[0].Aggregated {
				t.Fatalf("a plain record came back as %+v", got)
			}
			return
		}
		var a Aggregator
		for i, u := range got {
			if !u.Aggregated || u.SubSequence != int64(i) || u.Sequence != "5" {
				t.Fatalf("user record %d: %+v", i, u)
			}
			a.Add(u.PartitionKey, u.Data)
		}
		again, err := Deaggregate(Record{Sequence: "5", Data: a.Bytes()})
		if err != nil || len(again) != len(got) {
			t.Fatalf("built again: %d records, %v; want %d", len(again), err, len(got))
		}
		for i := range got {
			if again[i].PartitionKey != got[i].PartitionKey || !bytes.Equal(again[i].Data, got[i].Data) {
				t.Fatalf("built again, user record %d is %+v, was %+v", i, again[i], got[i])
			}
		}
	})
}
