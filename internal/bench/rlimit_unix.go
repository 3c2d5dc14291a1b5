//go:build unix

package bench

import (
	"fmt"
	"syscall"
)

// raiseFileLimit lifts the soft limit on open files to the hard limit: every
// stream is a file descriptor, and the default soft limit (often 1,024) is
// far below the 19,000 streams of issue 7. It returns the limit in force.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("reading the open-file limit: %w", err)
	}
	if l.Cur < l.Max {
		want := l
		want.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return l.Cur, fmt.Errorf("raising the open-file limit to %d: %w", l.Max, err)
		}
		l = want
	}
	return l.Cur, nil
}

// fdHeadroom is what the benchmark needs beside its streams: the API
// client's connections, the Go runtime, stdio.
const fdHeadroom = 64

// processCPU is the CPU time (user + system) this process used so far: the
// benchmark reports its own, because a load generator that saturates its
// core measures itself, not the server.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
