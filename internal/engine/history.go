package engine

import (
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// zoneHistory keeps a zone's recent readings for the dashboard's trend line:
// at most one per wall-clock second (a newer reading in the same second
// replaces the last), and none older than the window.
type zoneHistory struct {
	window time.Duration
	items  []crowd.DensityReading
}

func (h *zoneHistory) add(r crowd.DensityReading) {
	if n := len(h.items); n > 0 && r.Timestamp/1000 == h.items[n-1].Timestamp/1000 {
		h.items[n-1] = r
	} else {
		h.items = append(h.items, r)
	}
	cutoff := r.Timestamp - h.window.Milliseconds()
	i := 0
	for i < len(h.items) && h.items[i].Timestamp < cutoff {
		i++
	}
	if i > 0 {
		// Copy down rather than reslice so the backing array stays bounded.
		h.items = append(h.items[:0], h.items[i:]...)
	}
}

// since returns a copy of the readings within window of the newest one.
func (h *zoneHistory) since(window time.Duration) []crowd.DensityReading {
	if len(h.items) == 0 {
		return []crowd.DensityReading{}
	}
	if window <= 0 || window > h.window {
		window = h.window
	}
	cutoff := h.items[len(h.items)-1].Timestamp - window.Milliseconds()
	i := 0
	for i < len(h.items) && h.items[i].Timestamp < cutoff {
		i++
	}
	return append([]crowd.DensityReading(nil), h.items[i:]...)
}
