package devstack

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// built caches the binaries Build made in this process; Shutdown removes them.
var built struct {
	mu   sync.Mutex
	dir  string
	bins map[string]string // package dir -> binary
}

// Build builds the main package in pkgDir (relative to the test's working
// directory; "." for the package under test) once per test process and
// returns the binary's path. A failed build fails the test with the
// compiler's output.
func Build(t testing.TB, pkgDir string) string {
	t.Helper()
	abs, err := filepath.Abs(pkgDir)
	if err != nil {
		t.Fatal(err)
	}
	built.mu.Lock()
	defer built.mu.Unlock()
	if bin, ok := built.bins[abs]; ok {
		return bin
	}
	if built.dir == "" {
		if built.dir, err = os.MkdirTemp("", "pinpipe-bin-"); err != nil {
			t.Fatal(err)
		}
		built.bins = map[string]string{}
	}
	bin := filepath.Join(built.dir, filepath.Base(abs))
	if out, err := exec.Command("go", "build", "-o", bin, abs).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkgDir, err, out)
	}
	built.bins[abs] = bin
	return bin
}

func removeBuilt() {
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.dir != "" {
		os.RemoveAll(built.dir)
		built.dir, built.bins = "", nil
	}
}
