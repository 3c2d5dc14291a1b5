package crowd

import (
	"testing"
	"time"
)

// Standing-zone thresholds: watch 2.0, warning 3.5, critical 4.7, emergency
// 6.0 (exits 1.5, 3.0, 4.2, 5.5). Readings at 1 Hz; after a step at t the
// 10 s median is half old, half new at t+4 and all new at t+5.
//
// Each case pins both answers of the rules: the zone's displayed level
// (the smoothed density's band at once, down only through the hysteresis)
// and the density alert (only once a level's entry has held for its dwell).
func TestLevelShowsAtOnceAlertsAfterTheDwell(t *testing.T) {
	cases := []struct {
		name   string
		segs   []segment
		levels []string
		alerts []string
	}{
		{"watch shows at once, its alert after the 30 s dwell",
			[]segment{{1, 20 * time.Second}, {2.5, 60 * time.Second}},
			[]string{"watch@25s"},
			[]string{"density:watch:active@55s"}},
		{"an excursion shorter than the dwell shows, raises nothing, and is held for the hysteresis",
			// The median falls below watch's exit (1.5) at 50 s.
			[]segment{{1, 20 * time.Second}, {2.5, 25 * time.Second}, {1, 3 * time.Minute}},
			[]string{"watch@25s", "normal@170s"},
			nil},
		{"critical at once, its alert after 10 s",
			// At 24 s the median of five 1.0 and five 5.0 is 3.0: watch
			// for a second on the way up.
			[]segment{{1, 20 * time.Second}, {5, 40 * time.Second}},
			[]string{"watch@24s", "critical@25s"},
			[]string{"density:critical:active@35s"}},
		{"emergency after raw readings spanning 2 s, not delayed by the median, alert at once",
			[]segment{{1, 20 * time.Second}, {6.5, 5 * time.Second}},
			[]string{"emergency@22s"},
			[]string{"density:emergency:active@22s"}},
		{"raw readings spanning 2 s enter emergency, and it is held for the hysteresis",
			// The median never leaves normal: the hold counts from the
			// entry, not from when the median was last high.
			[]segment{{1, 20 * time.Second}, {6.5, 3 * time.Second}, {1, 3 * time.Minute}},
			[]string{"emergency@22s", "normal@142s"},
			[]string{"density:emergency:active@22s"}},
		{"one raw spike is nothing",
			[]segment{{1, 20 * time.Second}, {6.5, time.Second}, {1, 20 * time.Second}},
			nil,
			nil},
		{"two raw readings one second apart are one moment: nothing",
			[]segment{{1, 20 * time.Second}, {6.5, 2 * time.Second}, {1, 20 * time.Second}},
			nil,
			nil},
		{"two spikes apart are two moments: nothing",
			[]segment{{1, 20 * time.Second}, {6.5, time.Second}, {1, 5 * time.Second}, {6.5, time.Second}, {1, 20 * time.Second}},
			nil,
			nil},
		{"inside the hysteresis band level and alert hold",
			[]segment{{1, 20 * time.Second}, {4, 60 * time.Second}, {3.2, 10 * time.Minute}},
			[]string{"watch@24s", "warning@25s"},
			// Watch has held its entry 30 s one second before warning has.
			[]string{"density:watch:active@54s", "density:warning:active@55s"}},
		{"below entry minus 0.5 for 120 s the level comes down, one level at a time, the alert with it",
			[]segment{{1, 20 * time.Second}, {4, 60 * time.Second}, {3.2, 10 * time.Minute}, {2.9, 3 * time.Minute}, {1, 3 * time.Minute}},
			[]string{"watch@24s", "warning@25s", "watch@805s", "normal@985s"},
			[]string{"density:watch:active@54s", "density:warning:active@55s", "density:watch:active@805s", "density:watch:resolved@985s"}},
		{"a drop releases each level after the hold below its own exit",
			// At 64 s the median is 2.75: below critical's and warning's
			// exits but not yet watch's. Critical never clears by itself.
			[]segment{{1, 20 * time.Second}, {5, 40 * time.Second}, {0.5, 3 * time.Minute}},
			[]string{"watch@24s", "critical@25s", "watch@184s", "normal@185s"},
			[]string{"density:critical:active@35s"}},
		{"below the exit for less than the hold keeps the level",
			[]segment{{1, 20 * time.Second}, {5, 40 * time.Second}, {0.5, 100 * time.Second}, {5, time.Minute}},
			[]string{"watch@24s", "critical@25s"},
			[]string{"density:critical:active@35s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTestMonitor(standingZone("z"))
			outs := run(m, series("z", t0, time.Second, c.segs...))
			equalStrings(t, "level changes", levelChanges(outs), c.levels)
			equalStrings(t, "alerts", alertEvents(outs), c.alerts)
		})
	}
}

// The distinction the control room needs: a crowd in the warning band for
// less than the dwell shows warning on the dashboard (the display is what
// the zone is) but neither raises nor escalates a warning alert (nobody is
// paged twice for a brief peak); one that stays there past the dwell does.
// Either way the level comes back down through the hysteresis, and the
// alert follows it.
func TestWarningExcursionShorterOrLongerThanTheDwell(t *testing.T) {
	// Watch band from 20 s; warning band from 80 s for the excursion; back
	// to the watch band, then normal. The median enters warning at 85 s
	// and is last in it 4 s after the excursion ends.
	episode := func(excursion time.Duration) []segment {
		return []segment{{1, 20 * time.Second}, {2.5, 60 * time.Second}, {4, excursion}, {2.5, 3 * time.Minute}, {1, 3 * time.Minute}}
	}
	cases := []struct {
		name      string
		excursion time.Duration
		levels    []string
		alerts    []string
	}{
		{"20 s in warning: shown, not alerted",
			20 * time.Second,
			// Warning released 120 s after the median left it (105 s);
			// watch 120 s after the median fell below 1.5 (285 s).
			[]string{"watch@25s", "warning@85s", "watch@225s", "normal@405s"},
			[]string{"density:watch:active@55s", "density:watch:resolved@405s"}},
		{"30 s of readings in warning: the median holds it 29 s, one short of the dwell",
			30 * time.Second,
			[]string{"watch@25s", "warning@85s", "watch@235s", "normal@415s"},
			[]string{"density:watch:active@55s", "density:watch:resolved@415s"}},
		{"35 s in warning: the watch alert escalates, then follows the level down",
			35 * time.Second,
			[]string{"watch@25s", "warning@85s", "watch@240s", "normal@420s"},
			[]string{"density:watch:active@55s", "density:warning:active@115s", "density:watch:active@240s", "density:watch:resolved@420s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTestMonitor(standingZone("z"))
			outs := run(m, series("z", t0, time.Second, episode(c.excursion)...))
			equalStrings(t, "level changes", levelChanges(outs), c.levels)
			equalStrings(t, "alerts", alertEvents(outs), c.alerts)
			ids := map[string]bool{}
			for _, o := range outs {
				for _, a := range o.Alerts {
					ids[a.ID] = true
				}
			}
			if len(ids) != 1 {
				t.Fatalf("%d alert ids, want one alert for the whole episode", len(ids))
			}
			// Every level change is in the incident log, dwelled or not.
			for _, o := range outs {
				var logged []Level
				for _, in := range o.Incidents {
					if in.Kind == IncidentLevel {
						logged = append(logged, *in.Level)
					}
				}
				if o.LevelChanged != (len(logged) == 1 && logged[0] == o.Reading.Level) || len(logged) > 1 {
					t.Fatalf("at %s: level changed %v to %s, logged %v", time.UnixMilli(o.Reading.Timestamp).Sub(t0), o.LevelChanged, o.Reading.Level, logged)
				}
			}
		})
	}
}

// A zone that reaches warning without a watch alert first (a jump from
// normal) and leaves the band before the dwell raises no alert at all,
// though it showed warning.
func TestShortJumpToWarningRaisesNothing(t *testing.T) {
	m := newTestMonitor(standingZone("z"))
	outs := run(m, series("z", t0, time.Second, segment{1, 20 * time.Second}, segment{4, 20 * time.Second}, segment{1, 3 * time.Minute}))
	// The median is 2.5 (watch) at 24 s, 4 at 25 s, 2.5 at 44 s (below
	// warning's exit from then) and 1 at 45 s (below watch's exit).
	equalStrings(t, "level changes", levelChanges(outs), []string{"watch@24s", "warning@25s", "watch@164s", "normal@165s"})
	equalStrings(t, "alerts", alertEvents(outs), nil)
}

// A series that straddles the emergency threshold (5.8, 6.4, 5.8, …) never
// has two raw readings in a row above it, but its median is above: it must
// still reach emergency: the level as soon as the median is in the band,
// the alert once it has held there for the critical dwell.
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
	// The median is 3.4 at 24 s, 5.8 from 25 s and 6.1 from 29 s.
	equalStrings(t, "level changes", levelChanges(outs), []string{"watch@24s", "critical@25s", "emergency@29s"})
	equalStrings(t, "alerts", alertEvents(outs), []string{"density:critical:active@35s", "density:emergency:active@39s"})
}

// A crowd oscillating around the warning threshold (raw readings cross it
// every 40 s for half an hour, each stretch longer than the dwell) shows
// watch, then warning for good (the dips stay above warning's exit), with
// one watch alert, one escalation to warning, and nothing more.
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
	equalStrings(t, "level changes", levelChanges(outs), []string{"watch@1s", "warning@44s"})
	equalStrings(t, "alerts", alertEvents(outs), []string{"density:watch:active@31s", "density:warning:active@74s"})
}

// The same oscillation in 20 s stretches, each shorter than the dwell: the
// level shows warning from the first stretch and keeps it; the alert stays
// at watch, because warning never holds 30 s. Neither flaps.
func TestFlappingInShortStretchesShowsWarningAlertsWatch(t *testing.T) {
	var segs []segment
	for range 45 {
		segs = append(segs, segment{3.2, 20 * time.Second}, segment{3.9, 20 * time.Second})
	}
	outs := run(newTestMonitor(standingZone("z")), series("z", t0, time.Second, segs...))
	equalStrings(t, "level changes", levelChanges(outs), []string{"watch@1s", "warning@24s"})
	equalStrings(t, "alerts", alertEvents(outs), []string{"density:watch:active@31s"})
	for _, o := range outs[30:] {
		if l := o.Reading.Level; l != Warning {
			t.Fatalf("level %s at %s", l, time.UnixMilli(o.Reading.Timestamp).Sub(t0))
		}
	}
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
	equalStrings(t, "level changes", levelChanges(outs), []string{"critical@1s"})
	equalStrings(t, "alerts", alertEvents(outs), []string{
		"density:critical:active@11s", "density:critical:active@311s", "density:critical:active@611s"})
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
