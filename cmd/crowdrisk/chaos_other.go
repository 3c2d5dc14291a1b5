//go:build !linux

package main

import (
	"context"
	"errors"
	"io"
)

// runChaos: the fault campaign mounts file systems and stops processes
// (SIGSTOP), which only Linux offers it; the engine itself runs anywhere.
func runChaos(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("crowdrisk chaos runs on Linux only (it mounts file systems and pauses processes)")
}
