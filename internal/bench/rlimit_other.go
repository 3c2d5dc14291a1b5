//go:build !unix

package bench

// Elsewhere (Windows) there is no soft limit on sockets to raise, and the
// load generator's own CPU time is not read: 0 means unknown.

func raiseFileLimit() (uint64, error) { return 0, nil }

const fdHeadroom = 64

func processCPU() float64 { return 0 }
