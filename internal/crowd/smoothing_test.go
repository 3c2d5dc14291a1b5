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
		// A fresh zone counts its missing readings as empty (0): one
		// reading never decides alone, two that agree do.
		{"single on a fresh zone is not believed", []float64{9}, 0},
		{"two on a fresh zone: the lower", []float64{9, 4}, 4},
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
			if n := len(w.sorted); n > 10 || n != len(w.values)-w.head {
				t.Fatalf("window holds %d values (%d by arrival), want at most 10", n, len(w.values)-w.head)
			}
		})
	}
}

// TestRollingMedianMatchesSortingTheWindow checks the kept-sorted window
// against the plain definition (sort what is in the window) on a long noisy
// series with bursts of equal timestamps, across compactions.
func TestRollingMedianMatchesSortingTheWindow(t *testing.T) {
	w := rollingMedian{span: 10 * time.Second}
	type obs struct {
		t time.Time
		v float64
	}
	var all []obs
	at := t0
	for i := 0; i < 5000; i++ {
		if i%7 != 0 { // bursts share a timestamp
			at = at.Add(time.Duration(i%13) * 100 * time.Millisecond)
		}
		v := float64((i*7919)%101) / 10
		all = append(all, obs{at, v})
		got := w.add(at, v)
		var window []float64
		for j, o := range all {
			// The window: the last 10 s, and never fewer than the last
			// minSamples readings; a fresh zone's missing ones count as 0.
			if o.t.After(at.Add(-10*time.Second)) || o.t.Equal(at) || j >= len(all)-minSamples {
				window = append(window, o.v)
			}
		}
		for len(window) < minSamples {
			window = append(window, 0)
		}
		if want := median(window); got != want {
			t.Fatalf("reading %d: median %v, want %v", i, got, want)
		}
	}
}

// TestRollingMedianAfterAGap: a zone idle for an hour is judged with its
// last readings beside the new one, so one new reading (a spike) does not
// become the whole window; two that agree do.
func TestRollingMedianAfterAGap(t *testing.T) {
	w := rollingMedian{span: 10 * time.Second}
	w.add(t0, 1)
	w.add(t0.Add(time.Second), 1)
	w.add(t0.Add(2*time.Second), 1)
	if got := w.add(t0.Add(time.Hour), 9); got != 1 {
		t.Fatalf("one spike after an hour: median %v, want the old readings' 1", got)
	}
	if got := w.add(t0.Add(time.Hour+time.Second), 9); got != 9 {
		t.Fatalf("a second reading that agrees: median %v, want 9", got)
	}
	if got := w.add(t0.Add(time.Hour+20*time.Second), 2); got != 9 {
		t.Fatalf("the window keeps its last three readings however old: median %v, want 9", got)
	}
}

func TestRollingMedianWindowIsBounded(t *testing.T) {
	w := rollingMedian{span: 10 * time.Second}
	for i := 0; i < 5*maxWindow; i++ {
		w.add(t0, float64(i%7))
	}
	if n := len(w.sorted); n != maxWindow {
		t.Fatalf("window holds %d readings, want the newest %d", n, maxWindow)
	}
}
