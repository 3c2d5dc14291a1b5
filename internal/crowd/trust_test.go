package crowd

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The rules of issue 11, "alarms a control room can trust": one reading
// raises nothing, an emergency needs its dwell, and the venue-wide mode is
// switched on only by a new emergency (Outcome.Emergency).

func movingZone(id string) Zone {
	return Zone{ID: id, Kind: Moving, AreaM2: 1000}.WithDefaults() // emergency at 4.0
}

// emergencies lists "emergency@seconds" for every Outcome.Emergency.
func emergencies(outs []Outcome) []string {
	var s []string
	for _, o := range outs {
		if o.Emergency {
			s = append(s, fmt.Sprintf("emergency@%ds", (o.Reading.Timestamp-t0.UnixMilli())/1000))
		}
	}
	return s
}

func TestEmergencyOnlyAfterItsDwell(t *testing.T) {
	cases := []struct {
		name        string
		segs        []segment
		step        time.Duration
		levels      []string
		alerts      []string
		emergencies []string
	}{
		{"a single spike on a fresh zone: shown as a reading, raises nothing",
			[]segment{{4.5, time.Second}, {0.3, time.Minute}}, time.Second, nil, nil, nil},
		{"a single spike on a long-idle zone raises nothing",
			[]segment{{0.3, 3 * time.Second}, {0.3, time.Hour}, {4.5, time.Second}, {0.3, time.Minute}}, 20 * time.Minute, nil, nil, nil},
		{"two spikes apart raise nothing",
			[]segment{{0.5, 10 * time.Second}, {4.5, time.Second}, {0.5, 4 * time.Second}, {4.5, time.Second}, {0.5, time.Minute}}, time.Second, nil, nil, nil},
		{"a burst of readings within one second is one moment",
			[]segment{{0.5, 10 * time.Second}, {4.5, 900 * time.Millisecond}, {0.5, time.Minute}}, 100 * time.Millisecond, nil, nil, nil},
		{"a sustained rise: emergency once its raw readings span 2 s",
			[]segment{{0.5, 10 * time.Second}, {4.5, time.Minute}}, time.Second,
			[]string{"emergency@12s"}, []string{"density:emergency:active@12s"}, []string{"emergency@12s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTestMonitor(movingZone("ramp"))
			outs := run(m, series("ramp", t0, c.step, c.segs...))
			equalStrings(t, "level changes", levelChanges(outs), c.levels)
			equalStrings(t, "alerts", alertEvents(outs), c.alerts)
			equalStrings(t, "emergencies", emergencies(outs), c.emergencies)
		})
	}
}

func TestLoneSpikeIsFlaggedAsAnOutlier(t *testing.T) {
	m := newTestMonitor(movingZone("ramp"))
	o := m.Observe(Reading{ZoneID: "ramp", Time: t0, Density: 4.5})
	if !o.Reading.Outlier || o.Reading.Level != Normal || o.Reading.Density != 4.5 || o.Emergency {
		t.Fatalf("a lone 4.5 on a fresh moving zone: %+v (emergency %v)", o.Reading, o.Emergency)
	}
	o = m.Observe(Reading{ZoneID: "ramp", Time: t0.Add(time.Second), Density: 0.3})
	if o.Reading.Outlier || o.Reading.Level != Normal || o.Emergency {
		t.Fatalf("the next quiet reading: %+v", o.Reading)
	}
}

// TestEmergencyComesBackOnlyAfterAFreshDwell: while a zone stays in
// emergency (an operator has ended the venue-wide mode), nothing asks for it
// again; once the zone has come down through the hysteresis and passes the
// dwell again, it is a new emergency.
func TestEmergencyComesBackOnlyAfterAFreshDwell(t *testing.T) {
	m := newTestMonitor(movingZone("ramp"))
	// In emergency at 12 s; the operator ends the mode at 20 s (the engine's
	// business: the monitor only reports new emergencies). The zone stays
	// above for a minute, dips for less than the hold, rises again.
	outs := run(m, series("ramp", t0, time.Second,
		segment{0.5, 10 * time.Second}, segment{4.5, time.Minute},
		segment{0.3, 60 * time.Second}, segment{4.5, 30 * time.Second}))
	equalStrings(t, "while it stays in emergency", emergencies(outs), []string{"emergency@12s"})
	// Below its exit for longer than the 120 s hold: it leaves emergency,
	// and a new rise past the dwell is a new emergency.
	more := run(m, series("ramp", t0.Add(160*time.Second), time.Second,
		segment{0.3, 3 * time.Minute}, segment{4.5, 10 * time.Second}))
	equalStrings(t, "after it fell below and passed the dwell again", emergencies(more), []string{"emergency@342s"})
}

func TestSensorFusion(t *testing.T) {
	cases := []struct {
		name    string
		sensors map[string]float64
		want    float64
		peak    string // "id:level" of Peak, "" for none
	}{
		{"one sensor is the zone", map[string]float64{"": 2.5}, 2.5, ""},
		{"two sensors: the higher, a crowd is never hidden", map[string]float64{"a": 1.0, "b": 2.5}, 2.5, ""},
		{"three: the median, one stuck high cannot decide", map[string]float64{"a": 1.0, "b": 1.2, "c": 4.5}, 1.2, "c:emergency"},
		{"three: one stuck low cannot hide the crowd", map[string]float64{"a": 0, "b": 2.5, "c": 2.6}, 2.5, ""},
		{"four: the upper median", map[string]float64{"a": 1.0, "b": 1.1, "c": 1.5, "d": 3.2}, 1.5, "d:critical"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTestMonitor(movingZone("hall"))
			var o Outcome
			i := 0
			for _, id := range []string{"", "a", "b", "c", "d"} {
				d, ok := c.sensors[id]
				if !ok {
					continue
				}
				o = m.Observe(Reading{ZoneID: "hall", SensorID: id, Time: t0.Add(time.Duration(i) * time.Second), Density: d})
				i++
			}
			if o.Reading.Density != c.want || o.Reading.Sensors != len(c.sensors) {
				t.Fatalf("fused %v from %d sensors, want %v from %d", o.Reading.Density, o.Reading.Sensors, c.want, len(c.sensors))
			}
			peak := ""
			if p := o.Reading.Peak; p != nil {
				peak = p.SensorID + ":" + p.Level.String()
			}
			if peak != c.peak {
				t.Fatalf("peak %q, want %q", peak, c.peak)
			}
		})
	}
}

// TestSilentSensor: a sensor silent for the timeout leaves the fusion and
// raises a watch alert naming it; it resolves when the sensor reports again.
// A zone with no live sensor shows no data, never a stale level.
func TestSilentSensor(t *testing.T) {
	m := newTestMonitor(movingZone("hall"))
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for s := range 10 {
		m.Observe(Reading{ZoneID: "hall", SensorID: "cam-1", Time: at(s), Density: 0.8})
		m.Observe(Reading{ZoneID: "hall", SensorID: "cam-2", Time: at(s), Density: 0.9})
	}
	if p := m.Advance(at(60)); len(p.Alerts) != 0 {
		t.Fatalf("alerts before the timeout: %+v", p.Alerts)
	}
	// cam-2 goes on; cam-1 is silent from 9 s.
	for s := 10; s < 70; s++ {
		m.Observe(Reading{ZoneID: "hall", SensorID: "cam-2", Time: at(s), Density: 0.9})
	}
	p := m.Advance(at(69))
	if len(p.Alerts) != 1 {
		t.Fatalf("after 60 s of silence: %+v", p.Alerts)
	}
	a := p.Alerts[0]
	if a.Kind != KindSensor || a.Level != Watch || a.SensorID != "cam-1" || !strings.Contains(a.Message, "sensor cam-1 of zone") || a.Notifications != 1 {
		t.Fatalf("sensor alert %+v", a)
	}
	if r, _ := m.LatestOf("hall"); r.Sensors != 1 || r.NoData {
		t.Fatalf("zone with one live sensor left: %+v", r)
	}
	if p := m.Advance(at(70)); len(p.Alerts) != 0 {
		t.Fatalf("raised twice: %+v", p.Alerts)
	}
	o := m.Observe(Reading{ZoneID: "hall", SensorID: "cam-1", Time: at(71), Density: 0.8})
	if len(o.Alerts) != 1 || o.Alerts[0].ID != a.ID || o.Alerts[0].Status != StatusResolved || o.Reading.Sensors != 2 {
		t.Fatalf("sensor back: alerts %+v, reading %+v", o.Alerts, o.Reading)
	}

	// Every sensor silent: no data, once, with the last values and time.
	p = m.Advance(at(71 + 61))
	if len(p.Readings) != 1 || !p.Readings[0].NoData || p.Readings[0].Sensors != 0 || p.Readings[0].Timestamp != at(71).UnixMilli() {
		t.Fatalf("no data: %+v", p.Readings)
	}
	if len(p.Alerts) != 2 {
		t.Fatalf("both sensors silent: %d alerts", len(p.Alerts))
	}
	if p := m.Advance(at(71 + 62)); len(p.Readings) != 0 {
		t.Fatalf("no data reported twice: %+v", p.Readings)
	}
	if r, _ := m.LatestOf("hall"); !r.NoData {
		t.Fatalf("latest %+v", r)
	}
}

func TestSensorTimeoutPerZone(t *testing.T) {
	d := Duration(5 * time.Second)
	z := movingZone("stairs")
	z.Rules = &RuleOverrides{SensorTimeout: &d}
	m := newTestMonitor(z, movingZone("hall"))
	m.Observe(Reading{ZoneID: "stairs", Time: t0, Density: 1})
	m.Observe(Reading{ZoneID: "hall", Time: t0, Density: 1})
	p := m.Advance(t0.Add(6 * time.Second))
	if len(p.Alerts) != 1 || p.Alerts[0].ZoneID != "stairs" || !strings.Contains(p.Alerts[0].Message, "the sensor of zone") {
		t.Fatalf("alerts %+v", p.Alerts)
	}
}

func TestTestAlertsCloseByThemselves(t *testing.T) {
	m := newTestMonitor(movingZone("hall"))
	a, _, err := m.Raise("hall", KindTest, Watch, "drill", t0)
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Advance(t0.Add(59 * time.Second)); len(p.Alerts) != 0 {
		t.Fatalf("closed early: %+v", p.Alerts)
	}
	p := m.Advance(t0.Add(60 * time.Second))
	if len(p.Alerts) != 1 || p.Alerts[0].ID != a.ID || p.Alerts[0].Status != StatusResolved {
		t.Fatalf("after a minute: %+v", p.Alerts)
	}
	if len(m.OpenAlerts()) != 0 {
		t.Fatalf("still open: %+v", m.OpenAlerts())
	}
}
