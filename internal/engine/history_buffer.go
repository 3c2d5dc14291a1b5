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
	mu     sync.Mutex
	max    int
	points []store.DensityPoint
	// second is, per zone, the index in points of its point for the
	// second of its latest reading: a zone keeps one point a second.
	second  map[string]int
	minutes map[minuteKey]*store.DensityMinute
	latest  map[string]crowd.DensityReading
	dropped int // points dropped at the bound since the last write
}

// record takes one judged reading. The engine calls it with its lock held:
// it only appends and updates maps.
//
// A zone keeps at most one point a second, the worst of that second (see
// worsePoint): a zone with twenty sensors judges twenty readings a second,
// and a row each was a quarter of the engine's CPU at 40,000 readings/s
// (BENCHMARKS.md) and 144 million rows an hour for a chart that cannot
// show more than a point a second. The minute aggregates still take every
// reading.
func (b *historyBuffer) record(r crowd.DensityReading) {
	p := store.PointOf(r)
	b.mu.Lock()
	defer b.mu.Unlock()
	if i, ok := b.second[p.ZoneID]; ok && b.points[i].At/1000 == p.At/1000 {
		if worsePoint(p, b.points[i]) {
			b.points[i] = p
		}
	} else if len(b.points) < b.max {
		if b.second == nil {
			b.second = map[string]int{}
		}
		b.second[p.ZoneID] = len(b.points)
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
	clear(b.second)
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

// worsePoint reports whether a is worse than b, two points of one zone in
// one second: a chart with threshold bands must never hide a level the
// zone reached. A point with data is worse than one without; then the
// higher level, the higher smoothed density, the higher density; a tie
// keeps the later reading.
func worsePoint(a, b store.DensityPoint) bool {
	switch {
	case a.NoData != b.NoData:
		return b.NoData
	case a.Level != b.Level:
		return a.Level > b.Level
	case a.Smoothed != b.Smoothed:
		return a.Smoothed > b.Smoothed
	case a.Density != b.Density:
		return a.Density > b.Density
	}
	return a.At >= b.At
}
