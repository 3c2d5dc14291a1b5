package crowd

import (
	"testing"
	"time"
)

// Standing-zone thresholds: watch 2.0, warning 3.5, critical 4.7, emergency
// 6.0. Readings at 1 Hz; after a step at t the 10 s median follows at t+5.
func TestLevelDwellAndHysteresis(t *testing.T) {
	cases := []struct {
		name string
		segs []segment
		want []string
	}{
		{"watch after the 30 s dwell",
			[]segment{{1, 20 * time.Second}, {2.5, 60 * time.Second}},
			[]string{"watch@55s"}},
		{"an excursion shorter than the dwell raises nothing",
			[]segment{{1, 20 * time.Second}, {2.5, 25 * time.Second}, {1, 30 * time.Second}},
			nil},
		{"critical after 10 s, skipping the slower levels",
			[]segment{{1, 20 * time.Second}, {5, 40 * time.Second}},
			[]string{"critical@35s"}},
		{"emergency after two raw readings, not delayed by the median",
			[]segment{{1, 20 * time.Second}, {6.5, 5 * time.Second}},
			[]string{"emergency@21s"}},
		{"one raw spike is not an emergency",
			[]segment{{1, 20 * time.Second}, {6.5, time.Second}, {1, 20 * time.Second}},
			nil},
		{"inside the hysteresis band the level holds",
			[]segment{{1, 20 * time.Second}, {4, 60 * time.Second}, {3.2, 10 * time.Minute}},
			// At 54 s the median of five 1.0 and five 4.0 is 2.5: watch
			// has been held for 30 s one second before warning has.
			[]string{"watch@54s", "warning@55s"}},
		{"below entry minus 0.5 for 120 s the level comes down, one level at a time",
			[]segment{{1, 20 * time.Second}, {4, 60 * time.Second}, {3.2, 10 * time.Minute}, {2.9, 3 * time.Minute}, {1, 3 * time.Minute}},
			[]string{"watch@54s", "warning@55s", "watch@805s", "normal@985s"}},
		{"a drop releases each level after the hold below its own exit",
			// At 64 s the median is 2.75: below critical's and warning's
			// exits (4.2, 3.0) but not yet watch's (1.5).
			[]segment{{1, 20 * time.Second}, {5, 40 * time.Second}, {0.5, 3 * time.Minute}},
			[]string{"critical@35s", "watch@184s", "normal@185s"}},
		{"below the exit for less than the hold keeps the level",
			[]segment{{1, 20 * time.Second}, {5, 40 * time.Second}, {0.5, 100 * time.Second}, {5, time.Minute}},
			[]string{"critical@35s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTestMonitor(standingZone("z"))
			outs := run(m, series("z", t0, time.Second, c.segs...))
			equalStrings(t, "level changes", levelChanges(outs), c.want)
		})
	}
}

// A series that straddles the emergency threshold (5.8, 6.4, 5.8, …) never
// has two raw readings in a row above it, but its median is above: it must
// still reach emergency, through the smoothed dwell.
func TestEmergencyFromTheSmoothedDensity(t *testing.T) {
	rs := series("z", t0, time.Second, segment{1, 20 * time.Second})
	for i := range 40 {
		d := 5.8
		if i%2 == 1 {
			d = 6.4
		}
		rs = append(rs, Reading{ZoneID: "z", Time: t0.Add(time.Duration(20+i) * time.Second), Density: d})
	}
	outs := run(newTestMonitor(standingZone("z")), rs)
	equalStrings(t, "level changes", levelChanges(outs), []string{"critical@35s", "emergency@39s"})
}

// A crowd oscillating around the warning threshold (raw readings cross it
// every 40 s for half an hour) gives one watch alert, one escalation to
// warning, and nothing more: no flapping.
func TestFlappingAroundAThresholdDoesNotFlapAlerts(t *testing.T) {
	var segs []segment
	for range 22 {
		segs = append(segs, segment{3.2, 40 * time.Second}, segment{3.9, 40 * time.Second})
	}
	rs := series("z", t0, time.Second, segs...)
	rawChanges := 0
	th := DefaultThresholds(Standing)
	for i := 1; i < len(rs); i++ {
		if th.Classify(rs[i].Density) != th.Classify(rs[i-1].Density) {
			rawChanges++
		}
	}
	if rawChanges < 40 {
		t.Fatalf("the series is meant to flap: %d raw level changes", rawChanges)
	}
	outs := run(newTestMonitor(standingZone("z")), rs)
	equalStrings(t, "level changes", levelChanges(outs), []string{"watch@30s", "warning@74s"})
	equalStrings(t, "alerts", alertEvents(outs), []string{"density:watch:active@30s", "density:warning:active@74s"})
}

// Around the critical threshold with a swing that crosses its exit (4.2)
// for less than the hold: one critical alert that stays raised (re-notified
// every 5 minutes while nobody acknowledges it), no flapping.
func TestFlappingAcrossTheExitForLessThanTheHold(t *testing.T) {
	var segs []segment
	for range 15 {
		segs = append(segs, segment{5.0, 30 * time.Second}, segment{4.0, 30 * time.Second})
	}
	outs := run(newTestMonitor(standingZone("z")), series("z", t0, time.Second, segs...))
	equalStrings(t, "level changes", levelChanges(outs), []string{"critical@10s"})
	equalStrings(t, "alerts", alertEvents(outs), []string{
		"density:critical:active@10s", "density:critical:active@310s", "density:critical:active@610s"})
	ids := map[string]bool{}
	for _, o := range outs {
		for _, a := range o.Alerts {
			ids[a.ID] = true
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d alert ids, want one alert", len(ids))
	}
}
