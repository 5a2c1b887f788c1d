package crosscheck

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinariesLeaveOutDevTooling checks that none of the production
// binaries (every package under cmd/) links the local-stack tooling
// (devstack, the in-process Kafka broker, test helpers).
func TestBinariesLeaveOutDevTooling(t *testing.T) {
	list, err := exec.Command("go", "list", "github.com/pinpipe/pinpipe/cmd/...").Output()
	if err != nil {
		t.Fatalf("go list cmd/...: %v", err)
	}
	bins := strings.Fields(string(list))
	if len(bins) < 5 {
		t.Fatalf("go list cmd/... lists %q, want the five binaries at least", bins)
	}
	for _, bin := range bins {
		out, err := exec.Command("go", "list", "-deps", bin).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", bin, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if strings.Contains(pkg, "/internal/devstack") || strings.Contains(pkg, "/internal/landtest") ||
				strings.Contains(pkg, "twmb/franz-go") || strings.HasPrefix(pkg, "github.com/pinpipe/pinpipe/") && strings.HasSuffix(pkg, "test") {
				t.Errorf("%s imports dev-only package %s", bin, pkg)
			}
		}
	}
}
