package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
)

// TestProfiles: the profiles the environment names are written when
// stopped; a profile that cannot start stops the ones started before it.
func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		envCPUProfile:  filepath.Join(dir, "cpu"),
		envTrace:       filepath.Join(dir, "trace"),
		envHeapProfile: filepath.Join(dir, "heap"),
	}
	stop, err := startProfiles(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for k, p := range env {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %s not written (%v)", k, p, err)
		}
	}

	env[envTrace] = filepath.Join(dir, "missing", "trace")
	if _, err := startProfiles(func(k string) string { return env[k] }); err == nil {
		t.Fatal("a trace to a missing directory: no error")
	}
	// The CPU profile started before the trace failed was stopped.
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatalf("the CPU profile is still running after the failed start: %v", err)
	}
	pprof.StopCPUProfile()
}
