package crowd

import (
	"testing"
	"time"
)

// BenchmarkObserve is the per-reading cost of the rules on a realistic
// venue day (three zones, noise, flows, every alert kind). Each lap of the
// day is shifted 40 minutes later so reading time keeps moving forward.
func BenchmarkObserve(b *testing.B) {
	zones, rs := venueDay()
	m := NewMonitor(zones, MonitorOptions{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := rs[i%len(rs)]
		r.Time = r.Time.Add(time.Duration(i/len(rs)) * 40 * time.Minute)
		m.Observe(r)
	}
}
