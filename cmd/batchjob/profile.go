package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// Environment variables that make batchjob write pprof profiles, for
// benchmarking (scripts/bench-batch.sh): a CPU profile of the whole run and a
// heap profile at its end, and an execution trace of the run (where its
// goroutines waited: go tool trace -pprof=sync|syscall|sched).
const (
	envCPUProfile  = "BATCHJOB_CPUPROFILE"
	envHeapProfile = "BATCHJOB_MEMPROFILE"
	envTrace       = "BATCHJOB_TRACE"
)

// startProfiles starts the profiles the environment asks for and returns the
// function that stops and writes them.
func startProfiles(getenv func(string) string) (stop func() error, err error) {
	var stops []func() error
	stopAll := func() error {
		var errs []error
		for _, s := range stops {
			errs = append(errs, s())
		}
		return errors.Join(errs...)
	}
	streams := []struct {
		path, what string
		start      func(io.Writer) error
		stop       func()
	}{
		{getenv(envCPUProfile), "CPU profile", pprof.StartCPUProfile, pprof.StopCPUProfile},
		{getenv(envTrace), "execution trace", trace.Start, trace.Stop},
	}
	for _, s := range streams {
		if s.path == "" {
			continue
		}
		stop, err := startStream(s.path, s.what, s.start, s.stop)
		if err != nil {
			stopAll()
			return nil, err
		}
		stops = append(stops, stop)
	}
	if heap := getenv(envHeapProfile); heap != "" {
		stops = append(stops, func() error { return writeHeapProfile(heap) })
	}
	return stopAll, nil
}

// startStream starts a profile that start writes to the file path as the run
// goes, and returns the function that stops it and closes the file.
func startStream(path, what string, start func(io.Writer) error, stop func()) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the %s: %w", what, err)
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting the %s: %w", what, err)
	}
	return func() error {
		stop()
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing the %s: %w", what, err)
		}
		return nil
	}, nil
}

// writeHeapProfile writes the allocations profile to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating the heap profile: %w", err)
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("writing the heap profile: %w", err)
	}
	return f.Close()
}
