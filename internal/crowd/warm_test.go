package crowd

import (
	"testing"
	"time"
)

// TestWarmedMonitorJudgesLikeItsPredecessor: a leader that takes over warms
// a fresh monitor with the judged readings its predecessor published and the
// open alerts it stored; from then on it raises what the predecessor would
// have raised, when it would have (issue 12: a takeover delays no alert, and
// raises nothing twice).
func TestWarmedMonitorJudgesLikeItsPredecessor(t *testing.T) {
	cases := []struct {
		name   string
		before []segment // seen by the predecessor only
		after  []segment // seen by both
	}{
		{"a warning dwell under way at the takeover", []segment{{0.5, 20 * time.Second}, {2.5, 20 * time.Second}}, []segment{{2.5, 30 * time.Second}}},
		{"in emergency at the takeover: no second emergency", []segment{{0.5, 10 * time.Second}, {4.5, 10 * time.Second}}, []segment{{4.5, 20 * time.Second}}},
		{"coming down through the hysteresis", []segment{{0.5, 10 * time.Second}, {2.5, 60 * time.Second}, {0.5, 60 * time.Second}}, []segment{{0.5, 90 * time.Second}}},
		{"a trend building for minutes", []segment{{2.0, 10 * time.Second}}, []segment{{2.6, 4 * time.Minute}}},
	}
	for _, c := range cases {
		for _, sparse := range []bool{false, true} {
			name := c.name + ", every reading in the log"
			if sparse {
				name = c.name + ", only what the engine sends"
			}
			t.Run(name, func(t *testing.T) {
				old := newTestMonitor(movingZone("ramp"))
				before := series("ramp", t0, time.Second, c.before...)
				var published []DensityReading
				for _, o := range run(old, before) {
					r, n := o.Reading, len(published)
					// The engine sends changed judgements, and an unchanged
					// one every 15 s.
					if !sparse || n == 0 || r.Density != published[n-1].Density || r.Smoothed != published[n-1].Smoothed ||
						r.Level != published[n-1].Level || r.Timestamp-published[n-1].Timestamp >= 15000 {
						published = append(published, r)
					}
				}
				next := newTestMonitor(movingZone("ramp"))
				next.Restore(old.OpenAlerts(), nil)
				for _, d := range published {
					next.Warm(d)
				}
				after := series("ramp", before[len(before)-1].Time.Add(time.Second), time.Second, c.after...)
				want, got := run(old, after), run(next, after)
				equalStrings(t, "emergencies", emergencies(got), emergencies(want))
				if !sparse {
					equalStrings(t, "alerts", alertEvents(got), alertEvents(want))
					equalStrings(t, "levels", levelChanges(got), levelChanges(want))
					return
				}
				// From the sparse log the clocks are known to a second: the
				// same alerts in the end, none more than a second late.
				if w, g := finalAlerts(want, old), finalAlerts(got, next); w != g {
					t.Fatalf("open alerts at the end: got %s, want %s", g, w)
				}
				if w, g := firstChange(want), firstChange(got); w >= 0 && (g < 0 || g > w+1000) {
					t.Fatalf("first alert change at %d ms, the predecessor's at %d ms", g-t0.UnixMilli(), w-t0.UnixMilli())
				}
			})
		}
	}
}

func finalAlerts(_ []Outcome, m *Monitor) string {
	s := ""
	for _, a := range m.OpenAlerts() {
		s += string(a.Kind) + ":" + a.Level.String() + ":" + string(a.Status) + " "
	}
	return s
}

func firstChange(outs []Outcome) int64 {
	for _, o := range outs {
		if len(o.Alerts) > 0 {
			return o.Alerts[0].UpdatedAt
		}
	}
	return -1
}
