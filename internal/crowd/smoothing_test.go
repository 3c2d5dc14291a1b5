package crowd

import (
	"testing"
	"time"
)

func TestRollingMedian(t *testing.T) {
	cases := []struct {
		name   string
		values []float64 // one per second
		want   float64   // median after the last
	}{
		{"single", []float64{2}, 2},
		{"odd", []float64{1, 9, 3}, 3},
		{"even averages the middle two", []float64{1, 2, 3, 10}, 2.5},
		{"one spike does not move it", []float64{2, 2, 2, 2, 9, 2, 2}, 2},
		// 12 readings at 1 Hz: the first two fall out of the 10 s window.
		{"old readings leave the window", []float64{9, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := rollingMedian{span: 10 * time.Second}
			var got float64
			for i, v := range c.values {
				got = w.add(t0.Add(time.Duration(i)*time.Second), v)
			}
			if got != c.want {
				t.Fatalf("median %v, want %v", got, c.want)
			}
			if len(w.values) > 10 {
				t.Fatalf("window holds %d values, want at most 10", len(w.values))
			}
		})
	}
}

func TestRollingMedianKeepsTheLatestAfterAGap(t *testing.T) {
	w := rollingMedian{span: 10 * time.Second}
	w.add(t0, 5)
	if got := w.add(t0.Add(time.Hour), 1); got != 1 {
		t.Fatalf("after a gap the median is %v, want the new reading 1", got)
	}
}
