package kinesisx

import (
	"slices"
	"testing"
)

func TestCompareSequence(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1", "2", -1},
		{"10", "9", 1},
		{"49590338271490256608559692538361571095921575989136588898", "49590338271490256608559692538361571095921575989136588898", 0},
		{"49590338271490256608559692538361571095921575989136588898", "49590338271490256608559692540925702759324208523137515618", -1},
		{"0012", "12", 0},
	}
	for _, tc := range tests {
		if got := CompareSequence(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareSequence(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestReady(t *testing.T) {
	// 0 split into 1 and 2; 1 and 2 merged into 3; 4 is a root.
	all := []Shard{
		{ID: "0", Closed: true},
		{ID: "1", Parents: []string{"0"}, Closed: true},
		{ID: "2", Parents: []string{"0"}, Closed: true},
		{ID: "3", Parents: []string{"1", "2"}},
		{ID: "4"},
	}
	tests := []struct {
		name     string
		listed   []Shard
		finished []string
		want     []string
	}{
		{"nothing finished: roots only", all, nil, []string{"0", "4"}},
		{"parent finished: both children", all, []string{"0"}, []string{"1", "2", "4"}},
		{"merge waits for both parents", all, []string{"0", "1"}, []string{"2", "4"}},
		{"merge child after both", all, []string{"0", "1", "2"}, []string{"3", "4"}},
		{"expired parents count as finished", all[3:], nil, []string{"3", "4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, s := range Ready(tc.listed, func(id string) bool { return slices.Contains(tc.finished, id) }) {
				got = append(got, s.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Ready = %v, want %v", got, tc.want)
			}
		})
	}
}
