package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMemoryFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		content string
		want    int64
	}{
		{"max\n", 0},
		{"2147483648\n", 2 << 30},
		{"", 0},
		{"garbage", 0},
	} {
		if got := cgroupMemoryMax(write("memory.max", c.content)); got != c.want {
			t.Errorf("cgroupMemoryMax(%q) = %d, want %d", c.content, got, c.want)
		}
	}
	if got := cgroupMemoryMax(filepath.Join(dir, "missing")); got != 0 {
		t.Errorf("cgroupMemoryMax(missing) = %d, want 0", got)
	}
	for _, c := range []struct {
		content string
		want    int64
	}{
		{"MemTotal:       24576000 kB\nMemFree:  100 kB\n", 24576000 << 10},
		{"MemFree:  100 kB\n", 0},
		{"MemTotal: 12 MB\n", 0},
	} {
		if got := memTotal(write("meminfo", c.content)); got != c.want {
			t.Errorf("memTotal(%q) = %d, want %d", c.content, got, c.want)
		}
	}
	if got := autoMemoryLimit(); got < 0 {
		t.Errorf("autoMemoryLimit() = %d, want >= 0", got)
	}
}
