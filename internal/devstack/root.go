package devstack

import (
	"fmt"
	"os"
	"path/filepath"
)

// RepoRoot returns the directory holding go.mod, found by walking up from
// the working directory (tests run in their package directory).
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding repo root: %w", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding repo root: no go.mod in %s or above: %w", wd, os.ErrNotExist)
		}
		dir = parent
	}
}

// stackDir returns the directory of the shared stack: $PINPIPE_STACK_DIR or
// ROOT/.stack.
func stackDir(getenv func(string) string, root string) string {
	if d := getenv(EnvStackDir); d != "" {
		return d
	}
	return filepath.Join(root, ".stack")
}
