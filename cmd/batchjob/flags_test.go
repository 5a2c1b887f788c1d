package main

import (
	"io"
	"strings"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/batch"
)

// TestSnapshotFlags: the batch job keeps batch.DefaultKeepSnapshots
// snapshots a table, whatever their age; --keep-snapshots alone raises the
// maximum with it, and a maximum below the snapshots kept is refused.
func TestSnapshotFlags(t *testing.T) {
	base := []string{"--input", t.TempDir(), "--prefix", prefix, "--warehouse", t.TempDir()}
	for _, tc := range []struct {
		args              []string
		wantKeep, wantMax int
		wantErr           string
	}{
		{nil, batch.DefaultKeepSnapshots, batch.DefaultKeepSnapshots, ""},
		{[]string{"--keep-snapshots", "100"}, 100, 100, ""},
		{[]string{"--keep-snapshots", "5"}, 5, batch.DefaultKeepSnapshots, ""},
		{[]string{"--max-snapshots", "1000"}, batch.DefaultKeepSnapshots, 1000, ""},
		{[]string{"--keep-snapshots", "100", "--max-snapshots", "50"}, 0, 0, "at most 50 snapshots, but 100 are kept"},
	} {
		cfg, err := parseFlags(append(base, tc.args...), io.Discard)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: %v, want an error containing %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if m := cfg.Maintenance; m.KeepSnapshots != tc.wantKeep || m.MaxSnapshots != tc.wantMax {
			t.Errorf("%q: keep %d, at most %d; want %d and %d", tc.args, m.KeepSnapshots, m.MaxSnapshots, tc.wantKeep, tc.wantMax)
		}
	}
}
