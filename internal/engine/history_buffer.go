package engine

import (
	"sync"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// The in-memory side of the stored density history (history.go): what the
// ingest path records under the engine's lock, taken by the writer once a
// second.

type minuteKey struct {
	zone   string
	minute int64
}

// historyBuffer is what was recorded since the last write.
type historyBuffer struct {
	mu      sync.Mutex
	max     int
	points  []store.DensityPoint
	minutes map[minuteKey]*store.DensityMinute
	latest  map[string]crowd.DensityReading
	dropped int // points dropped at the bound since the last write
}

// record takes one judged reading. The engine calls it with its lock held:
// it only appends and updates maps.
func (b *historyBuffer) record(r crowd.DensityReading) {
	p := store.PointOf(r)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.points) < b.max {
		b.points = append(b.points, p)
	} else {
		b.dropped++
	}
	k := minuteKey{p.ZoneID, p.At - p.At%60000}
	if m := b.minutes[k]; m != nil {
		m.Merge(store.MinuteOf(p))
	} else {
		if b.minutes == nil {
			b.minutes = map[minuteKey]*store.DensityMinute{}
		}
		m := store.MinuteOf(p)
		b.minutes[k] = &m
	}
	if old, ok := b.latest[r.ZoneID]; !ok || old.Timestamp <= r.Timestamp {
		if b.latest == nil {
			b.latest = map[string]crowd.DensityReading{}
		}
		b.latest[r.ZoneID] = r
	}
}

// take empties the buffer into a batch, with the count dropped meanwhile.
func (b *historyBuffer) take() (store.HistoryBatch, int) {
	b.mu.Lock()
	points, minutes, latest, dropped := b.points, b.minutes, b.latest, b.dropped
	b.points, b.minutes, b.latest, b.dropped = make([]store.DensityPoint, 0, min(cap(points), b.max)), nil, nil, 0
	b.mu.Unlock()
	batch := store.HistoryBatch{Points: points}
	for _, m := range minutes {
		batch.Minutes = append(batch.Minutes, *m)
	}
	for _, r := range latest {
		batch.Latest = append(batch.Latest, r)
	}
	return batch, dropped
}
