package main

import (
	"fmt"
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
	var cpu *os.File
	if path := getenv(envCPUProfile); path != "" {
		if cpu, err = os.Create(path); err != nil {
			return nil, fmt.Errorf("creating the CPU profile: %w", err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, fmt.Errorf("starting the CPU profile: %w", err)
		}
	}
	var tr *os.File
	if path := getenv(envTrace); path != "" {
		if tr, err = os.Create(path); err != nil {
			return nil, fmt.Errorf("creating the execution trace: %w", err)
		}
		if err := trace.Start(tr); err != nil {
			tr.Close()
			if cpu != nil {
				pprof.StopCPUProfile()
				cpu.Close()
			}
			return nil, fmt.Errorf("starting the execution trace: %w", err)
		}
	}
	heap := getenv(envHeapProfile)
	return func() error {
		if tr != nil {
			trace.Stop()
			if err := tr.Close(); err != nil {
				return fmt.Errorf("writing the execution trace: %w", err)
			}
		}
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				return fmt.Errorf("writing the CPU profile: %w", err)
			}
		}
		if heap != "" {
			f, err := os.Create(heap)
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
		return nil
	}, nil
}
