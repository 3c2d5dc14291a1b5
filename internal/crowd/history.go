package crowd

import "time"

// History keeps a zone's recent judged readings for the dashboard's trend
// line: at most one per wall-clock second (a newer reading in the same
// second replaces the last), and none older than the window before the
// newest. Not safe for concurrent use.
type History struct {
	window time.Duration
	items  []DensityReading
}

// NewHistory keeps window of readings.
func NewHistory(window time.Duration) *History { return &History{window: window} }

// Add records a reading (readings come in time order).
func (h *History) Add(r DensityReading) {
	if n := len(h.items); n > 0 && r.Timestamp/1000 == h.items[n-1].Timestamp/1000 {
		h.items[n-1] = r
	} else {
		h.items = append(h.items, r)
	}
	if i := h.firstAfter(r.Timestamp - h.window.Milliseconds()); i > 0 {
		// Copy down rather than reslice so the backing array stays bounded.
		h.items = append(h.items[:0], h.items[i:]...)
	}
}

// Since returns a copy of the readings within window of the newest one
// (the whole kept window when window is 0 or larger).
func (h *History) Since(window time.Duration) []DensityReading {
	if len(h.items) == 0 {
		return []DensityReading{}
	}
	if window <= 0 || window > h.window {
		window = h.window
	}
	i := h.firstAfter(h.items[len(h.items)-1].Timestamp - window.Milliseconds())
	return append([]DensityReading(nil), h.items[i:]...)
}

// firstAfter is the index of the first reading at or after cutoff (ms).
func (h *History) firstAfter(cutoff int64) int {
	i := 0
	for i < len(h.items) && h.items[i].Timestamp < cutoff {
		i++
	}
	return i
}
