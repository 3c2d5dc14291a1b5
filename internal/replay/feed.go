package replay

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// Sink takes one batch of readings: the engine's ingest in process, or
// HTTPSink for a running engine.
type Sink = func(context.Context, []crowd.ReadingInput) error

// Feed sends readings to sink in time order, one batch per timestamp,
// waiting between batches for the readings' own time gap divided by speed
// (speed 0: no waiting). Waits go through sleep, so a test passes a fake.
// Every reading needs a timestamp. It stops at the first sink error.
func Feed(ctx context.Context, readings []crowd.ReadingInput, speed float64,
	sink func(context.Context, []crowd.ReadingInput) error,
	sleep func(context.Context, time.Duration) error) error {
	if speed < 0 || math.IsNaN(speed) || math.IsInf(speed, 0) {
		return crowd.Invalidf("speed", "must be 0 (as fast as possible) or a positive factor")
	}
	for i, r := range readings {
		if r.Timestamp == nil {
			return crowd.Invalidf(fmt.Sprintf("readings[%d].timestamp", i), "is required for a replay")
		}
	}
	sorted := slices.Clone(readings)
	// Stable, so readings of one timestamp keep the file's order.
	slices.SortStableFunc(sorted, func(a, b crowd.ReadingInput) int {
		return cmp.Compare(*a.Timestamp, *b.Timestamp)
	})
	var prev int64
	for start := 0; start < len(sorted); {
		ts := *sorted[start].Timestamp
		end := start + 1
		for end < len(sorted) && *sorted[end].Timestamp == ts {
			end++
		}
		if start > 0 && speed > 0 {
			wait := time.Duration(float64(time.Duration(ts-prev)*time.Millisecond) / speed)
			if err := sleep(ctx, wait); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := sink(ctx, sorted[start:end:end]); err != nil {
			return fmt.Errorf("batch at %d: %w", ts, err)
		}
		prev, start = ts, end
	}
	return nil
}

// Sleep waits for d or until ctx ends: the real sleep for Feed.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
