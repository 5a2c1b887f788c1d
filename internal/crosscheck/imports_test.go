package crosscheck

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinariesLeaveOutDevTooling checks that none of the four production
// binaries links the local-stack tooling (devstack, the in-process Kafka
// broker, test helpers).
func TestBinariesLeaveOutDevTooling(t *testing.T) {
	for _, bin := range []string{"emit", "batchjob", "streamjob", "s3sink"} {
		out, err := exec.Command("go", "list", "-deps", "github.com/pinpipe/pinpipe/cmd/"+bin).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", bin, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if strings.Contains(pkg, "/internal/devstack") || strings.Contains(pkg, "/internal/landtest") ||
				strings.Contains(pkg, "twmb/franz-go") || strings.HasPrefix(pkg, "github.com/pinpipe/pinpipe/") && strings.HasSuffix(pkg, "test") {
				t.Errorf("cmd/%s imports dev-only package %s", bin, pkg)
			}
		}
	}
}
