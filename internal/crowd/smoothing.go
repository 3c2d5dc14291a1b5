package crowd

import (
	"slices"
	"time"
)

// rollingMedian is the median of the values observed within a span of
// reading time. The median, not the mean, because a people counter's errors
// are spikes (a bus passing a camera, a double count): one spike moves a
// mean but not a median.
type rollingMedian struct {
	span    time.Duration
	times   []time.Time
	values  []float64
	scratch []float64
}

// add records v at t (t never goes backwards: the engine rejects older
// readings) and returns the median of the values within (t-span, t].
func (w *rollingMedian) add(t time.Time, v float64) float64 {
	w.times = append(w.times, t)
	w.values = append(w.values, v)
	drop := 0
	for drop < len(w.times)-1 && !w.times[drop].After(t.Add(-w.span)) {
		drop++
	}
	if drop > 0 {
		// Shift rather than reslice so the backing array does not grow
		// without end on a zone that reports for days.
		w.times = slices.Delete(w.times, 0, drop)
		w.values = slices.Delete(w.values, 0, drop)
	}
	return w.median()
}

func (w *rollingMedian) median() float64 {
	w.scratch = append(w.scratch[:0], w.values...)
	return median(w.scratch)
}

// median sorts xs in place and returns its median (0 for none).
func median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	slices.Sort(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
