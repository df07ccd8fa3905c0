//go:build unix

package codegen

import "syscall"

// processCPUTime returns the user+system CPU time of the process in
// nanoseconds (benchmarks on a shared, loaded machine report it next to
// wall time: it does not count time spent waiting for a core).
func processCPUTime() (int64, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
