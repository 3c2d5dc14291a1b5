package crowd

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// venueDay is 40 minutes of three zones interleaved: a standing zone that
// fills and surges to emergency, a moving corridor that rises and falls, and
// a bar that fills up against its licence; with noise and flow counts.
func venueDay() ([]Zone, []Reading) {
	zones := []Zone{
		{ID: "pitch", Kind: Standing, AreaM2: 400, Capacity: 2400},
		{ID: "corridor", Kind: Moving, AreaM2: 36, ExitCapacityPerMin: 80},
		{ID: "bar", Kind: Standing, AreaM2: 100, Capacity: 220},
	}
	for i := range zones {
		zones[i] = zones[i].WithDefaults()
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var rs []Reading
	for s := range 40 * 60 {
		at := t0.Add(time.Duration(s) * time.Second)
		m := float64(s) / 60
		pitch := 1 + 0.15*m
		if m > 30 && m < 33 {
			pitch += 2.5 // a surge
		}
		corridor := 0.3 + 2.5*math.Sin(math.Pi*m/40)
		in := 60 + 40*math.Sin(math.Pi*m/20)
		bar := 1 + 0.04*m
		n := int(bar*100 + rng.Float64()*10)
		rs = append(rs,
			Reading{ZoneID: "pitch", Time: at, Density: pitch + (rng.Float64()-0.5)*0.2},
			Reading{ZoneID: "corridor", Time: at, Density: math.Max(0, corridor+(rng.Float64()-0.5)*0.2), InflowPerMin: f64(in), OutflowPerMin: f64(70)},
			Reading{ZoneID: "bar", Time: at, Density: float64(n) / 100, Count: &n},
		)
	}
	return zones, rs
}

// A replay is fed as fast as the machine goes; live, a reading a second.
// Either way the monitor sees the same readings with the same times, so
// the outcomes must be identical: there is no other clock.
func TestReplayGivesTheSameAlertsAsLive(t *testing.T) {
	zones, rs := venueDay()
	ids := func() func() string {
		n := 0
		return func() string { n++; return "x" + strconv.Itoa(n) }
	}
	live := NewMonitor(zones, MonitorOptions{NewAlertID: ids()})
	var liveOuts []Outcome
	for i, r := range rs {
		liveOuts = append(liveOuts, live.Observe(r))
		if i%500 == 0 {
			time.Sleep(time.Millisecond) // wall time passes between readings
		}
	}
	replay := NewMonitor(zones, MonitorOptions{NewAlertID: ids()})
	replayOuts := run(replay, rs)
	if !reflect.DeepEqual(liveOuts, replayOuts) {
		for i := range liveOuts {
			if !reflect.DeepEqual(liveOuts[i], replayOuts[i]) {
				t.Fatalf("reading %d differs:\n live   %+v\n replay %+v", i, liveOuts[i], replayOuts[i])
			}
		}
	}
	kinds := map[AlertKind]bool{}
	levels := map[Level]bool{}
	for _, o := range liveOuts {
		for _, a := range o.Alerts {
			kinds[a.Kind] = true
			levels[a.Level] = true
		}
	}
	for _, k := range []AlertKind{KindDensity, KindCapacity, KindTrend, KindForecast, KindFlow} {
		if !kinds[k] {
			t.Errorf("the day raised no %s alert: the comparison proves little (kinds %v)", k, kinds)
		}
	}
	if !levels[Emergency] {
		t.Errorf("the day never reached emergency (levels %v)", levels)
	}
	if !reflect.DeepEqual(live.OpenAlerts(), replay.OpenAlerts()) || !reflect.DeepEqual(live.Latest(), replay.Latest()) {
		t.Fatal("final state differs")
	}
}

// A restarted engine restores the open alerts and latest readings: an
// acknowledged critical alert resolves after the hold as it would have, an
// open watch alert does not resolve on the first quiet reading, and no alert
// is raised twice.
func TestRestoreContinuesWhereTheEngineWas(t *testing.T) {
	zones := []Zone{standingZone("a"), standingZone("b")}
	before := NewMonitor(zones, MonitorOptions{})
	run(before, series("a", t0, time.Second, segment{1, 20 * time.Second}, segment{5, 40 * time.Second}))
	run(before, series("b", t0, time.Second, segment{1, 20 * time.Second}, segment{2.5, 40 * time.Second}))
	crit := before.OpenAlerts()[0]
	if crit.ZoneID != "a" || crit.Level != Critical {
		t.Fatalf("open %+v", before.OpenAlerts())
	}
	if _, _, err := before.Acknowledge(crit.ID, "ops", t0.Add(50*time.Second)); err != nil {
		t.Fatal(err)
	}

	n := 0
	after := NewMonitor(zones, MonitorOptions{NewAlertID: func() string { n++; return "r" + strconv.Itoa(n) }})
	after.Restore(before.OpenAlerts(), before.Latest())
	if !reflect.DeepEqual(after.OpenAlerts(), before.OpenAlerts()) || !reflect.DeepEqual(after.Latest(), before.Latest()) {
		t.Fatalf("restored state differs:\n %+v\n %+v", after.OpenAlerts(), before.OpenAlerts())
	}
	if _, _, err := after.Acknowledge(crit.ID, "bob", t0.Add(61*time.Second)); err != nil {
		t.Fatalf("acknowledging again after restore: %v", err)
	}
	// Zone a stays critical for a while: no second critical alert.
	outs := run(after, series("a", t0.Add(60*time.Second), time.Second, segment{5, time.Minute}, segment{1, 3 * time.Minute}))
	equalStrings(t, "zone a", alertEvents(outs), []string{"density:critical:resolved@244s"})
	// Zone b goes quiet: its watch alert waits for the hold.
	outs = run(after, series("b", t0.Add(60*time.Second), time.Second, segment{1, 3 * time.Minute}))
	equalStrings(t, "zone b", alertEvents(outs), []string{"density:watch:resolved@180s"})
}

// A zone that shows warning with only a watch alert (warning has not held
// for the dwell) shows warning again after a restart: the display comes
// back from the latest reading's smoothed density, not from the alert, so
// the dashboard does not step down and up again.
func TestRestoreKeepsTheDisplayedLevel(t *testing.T) {
	zones := []Zone{standingZone("z")}
	before := NewMonitor(zones, MonitorOptions{})
	run(before, series("z", t0, time.Second, segment{1, 20 * time.Second}, segment{2.5, time.Minute}, segment{4, 20 * time.Second}))
	last, _ := before.LatestOf("z")
	if open := before.OpenAlerts(); last.Level != Warning || len(open) != 1 || open[0].Level != Watch {
		t.Fatalf("before the restart: level %s, open %+v", last.Level, open)
	}
	after := NewMonitor(zones, MonitorOptions{})
	after.Restore(before.OpenAlerts(), before.Latest())
	outs := run(after, series("z", t0.Add(100*time.Second), time.Second, segment{4, 10 * time.Second}))
	equalStrings(t, "level changes after the restart", levelChanges(outs), nil)
	if l := outs[len(outs)-1].Reading.Level; l != Warning {
		t.Fatalf("level %s after the restart, want warning", l)
	}
	equalStrings(t, "alerts after the restart", alertEvents(outs), nil)
}
