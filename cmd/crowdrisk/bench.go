package main

import (
	"context"
	"io"
	"os"

	"github.com/crowdrisk/crowdrisk/internal/bench"
)

// runBench is `crowdrisk bench`: the load benchmark against a running engine
// (internal/bench, BENCHMARKS.md).
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return bench.RunCommand(ctx, args, stdout, stderr, os.Getenv)
}
