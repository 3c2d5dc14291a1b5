package main

import (
	"context"
	"io"

	"github.com/crowdrisk/crowdrisk/internal/replay"
)

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return replay.Run(ctx, args, stdout, stderr)
}
