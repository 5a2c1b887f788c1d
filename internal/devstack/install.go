package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Pinned versions of the stand-ins installed into REPO/.cache.
const (
	VersityGWModule   = "github.com/versity/versitygw/cmd/versitygw"
	VersityGWVersion  = "v1.8.0"
	KinesaliteVersion = "3.3.3"
)

// VersityGWPath returns where EnsureVersityGW installs versitygw.
func VersityGWPath(root string) string { return filepath.Join(root, ".cache", "bin", "versitygw") }

// KinesaliteDir returns where EnsureKinesalite installs the kinesalite package.
func KinesaliteDir(root string) string {
	return filepath.Join(root, ".cache", "npm", "node_modules", "kinesalite")
}

// EnsureVersityGW installs versitygw into ROOT/.cache/bin with `go install`
// unless it is there already, and returns its path. The first build takes a
// couple of minutes.
func EnsureVersityGW(ctx context.Context, root string, log *slog.Logger) (string, error) {
	bin := VersityGWPath(root)
	if isFile(bin) {
		return bin, nil
	}
	unlock, err := lockInstall(root)
	if err != nil {
		return "", err
	}
	defer unlock()
	if isFile(bin) { // installed by another process while we waited
		return bin, nil
	}
	logger(log).Info("installing versitygw (first time only, takes ~2 min)", "version", VersityGWVersion, "to", bin)
	cmd := exec.CommandContext(ctx, "go", "install", VersityGWModule+"@"+VersityGWVersion)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(bin), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("installing versitygw: %w\n%s", err, tail(out, 2000))
	}
	if !isFile(bin) {
		return "", fmt.Errorf("installing versitygw: %s missing after go install", bin)
	}
	return bin, nil
}

// EnsureKinesalite installs kinesalite into ROOT/.cache/npm with npm unless it
// is there already, and returns the package directory (run it with node).
func EnsureKinesalite(ctx context.Context, root string, log *slog.Logger) (string, error) {
	dir := KinesaliteDir(root)
	ready := func() bool {
		return isFile(filepath.Join(dir, "package.json")) && isFile(filepath.Join(dir, "..", ".bin", "kinesalite"))
	}
	if ready() {
		return dir, nil
	}
	unlock, err := lockInstall(root)
	if err != nil {
		return "", err
	}
	defer unlock()
	if ready() {
		return dir, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("installing kinesalite: npm not found (install Node.js >= 18): %w", err)
	}
	prefix := filepath.Join(root, ".cache", "npm")
	logger(log).Info("installing kinesalite (first time only)", "version", KinesaliteVersion, "to", prefix)
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", prefix, "kinesalite@"+KinesaliteVersion)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("installing kinesalite: %w\n%s", err, tail(out, 2000))
	}
	if !ready() {
		return "", fmt.Errorf("installing kinesalite: %s missing after npm install", dir)
	}
	return dir, nil
}

// lockInstall takes an exclusive file lock so that concurrent test binaries
// do not install at the same time.
func lockInstall(root string) (func(), error) {
	dir := filepath.Join(root, ".cache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("locking installs: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "devstack-install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking installs: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking installs: %w", err)
	}
	return func() { f.Close() }, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// logger returns l, or a logger that discards everything when l is nil.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
