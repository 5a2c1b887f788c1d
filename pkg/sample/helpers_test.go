package sample

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"testing"
)

// decodeObject decodes one JSON object with numbers kept as json.Number; it
// returns nil when rec is not exactly one JSON object.
func decodeObject(t *testing.T, rec []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(rec))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || d.More() {
		return nil
	}
	return m
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

func itoa(n int) string { return strconv.Itoa(n) }

// num reads a JSON number or a numeric string as float64.
func num(t *testing.T, v any) float64 {
	t.Helper()
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = x
	default:
		t.Fatalf("not a number: %#v", v)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("not a number: %#v", v)
	}
	return f
}
