package crowd

import (
	"slices"
	"time"
)

// rollingMedian is the median of the values observed within a span of
// reading time. The median, not the mean, because a people counter's errors
// are spikes (a bus passing a camera, a double count): one spike moves a
// mean but not a median.
//
// A median of one value is that value, spike or not, so the window never
// holds fewer than minSamples values: it keeps the latest ones however old
// (a zone idle for an hour is judged with its last readings, not on one new
// one), and a zone with fewer readings than that in its whole life counts
// the missing ones as an empty zone (0). One reading therefore never
// decides alone; two that agree do, which is DOMAIN.md's "two consecutive
// readings" for an emergency too.
//
// The window is kept twice: in arrival order (to know what leaves it) and
// sorted (to read the median at once). A zone may report many times a
// second, or a replay may send a whole batch with one timestamp, so sorting
// the window on every reading would cost O(n log n) each time; keeping it
// sorted costs a binary search and a memmove.
type rollingMedian struct {
	span   time.Duration
	times  []time.Time // arrival order, from head
	values []float64   // arrival order, from head
	head   int
	sorted []float64
}

// maxWindow bounds the readings a window holds, whatever their rate (a
// sensor token posting a flood of readings with one timestamp must not make
// every reading of its zone cost more and more). At one reading a second a
// 10 s window holds ten.
const maxWindow = 1024

// minSamples is the fewest values a median is taken over (see rollingMedian).
const minSamples = 3

// add records v at t (t never goes backwards: the engine rejects older
// readings) and returns the median of the values within (t-span, t].
func (w *rollingMedian) add(t time.Time, v float64) float64 {
	w.times = append(w.times, t)
	w.values = append(w.values, v)
	i, _ := slices.BinarySearch(w.sorted, v)
	w.sorted = slices.Insert(w.sorted, i, v)
	cutoff := t.Add(-w.span)
	for n := len(w.times) - w.head; n > minSamples && (!w.times[w.head].After(cutoff) || n > maxWindow); n-- {
		old := w.values[w.head]
		j, _ := slices.BinarySearch(w.sorted, old)
		w.sorted = slices.Delete(w.sorted, j, j+1)
		w.head++
	}
	if w.head > 64 && w.head > len(w.times)/2 {
		// Compact now and then so the backing arrays do not grow without
		// end on a zone that reports for days.
		n := copy(w.times, w.times[w.head:])
		copy(w.values, w.values[w.head:])
		w.times, w.values, w.head = w.times[:n], w.values[:n], 0
	}
	return w.median()
}

func (w *rollingMedian) median() float64 {
	n := len(w.sorted)
	if n < minSamples {
		// Pad with the empty zone's zeros, which sort first (values are
		// never negative): the median is then sorted[minSamples/2-pad].
		i := minSamples/2 - (minSamples - n)
		if i < 0 {
			return 0
		}
		return w.sorted[i]
	}
	if n%2 == 1 {
		return w.sorted[n/2]
	}
	return (w.sorted[n/2-1] + w.sorted[n/2]) / 2
}

// size is how many values the window holds now.
func (w *rollingMedian) size() int { return len(w.sorted) }

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
