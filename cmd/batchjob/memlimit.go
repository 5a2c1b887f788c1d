package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// autoMemoryLimit returns the soft memory limit the job sets for the Go
// runtime when neither --memory-limit-mib nor GOMEMLIMIT gives one: three
// quarters of the memory available to the process (its cgroup's limit, else
// the machine's), or 0 when neither can be read. With it, the default
// --gc-percent of 200 (which lets the heap grow to three times the live data
// between collections) collects more often instead of running the machine
// out of memory on a large input.
func autoMemoryLimit() int64 {
	avail := cgroupMemoryMax("/sys/fs/cgroup/memory.max")
	if total := memTotal("/proc/meminfo"); total > 0 && (avail <= 0 || total < avail) {
		avail = total
	}
	return avail / 4 * 3
}

// cgroupMemoryMax reads a cgroup v2 memory.max file: a number of bytes, or
// "max" (no limit: 0). A missing or unreadable file gives 0.
func cgroupMemoryMax(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// memTotal reads MemTotal of a /proc/meminfo file, in bytes (0 when absent).
func memTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb <= 0 {
			return 0
		}
		return kb << 10
	}
	return 0
}
