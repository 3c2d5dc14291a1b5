package crowd

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// door is a door counter's report at t.
func door(zone, id string, t time.Time, in, out int) ReadingInput {
	return ReadingInput{ZoneID: zone, SensorID: id, In: &in, Out: &out, Timestamp: ts(t)}
}

func countAt(zone, id string, t time.Time, n int) ReadingInput {
	return ReadingInput{ZoneID: zone, SensorID: id, Count: &n, Timestamp: ts(t)}
}

func densityAt(zone, id string, t time.Time, d float64) ReadingInput {
	return ReadingInput{ZoneID: zone, SensorID: id, Density: &d, Timestamp: ts(t)}
}

// feed admits and observes each reading as it arrives at its own time (the
// engine's clock is the reading's time), and returns the last outcome.
func feed(t *testing.T, m *Monitor, in ...ReadingInput) Outcome {
	t.Helper()
	var o Outcome
	for _, ri := range in {
		now := time.UnixMilli(*ri.Timestamp)
		rs, e := admit(t, m, now, ri)
		if e != nil {
			t.Fatalf("reading %+v refused: %v", ri, e)
		}
		o = m.Observe(rs[0])
	}
	return o
}

func gateZone() Zone {
	return Zone{ID: "gate", Kind: Moving, AreaM2: 100, Capacity: 400}.WithDefaults()
}

// TestDoorCountersKeepTheBalance: the zone's occupancy is the running
// balance of its doors, never below zero (the shortfall shown and logged
// once), corrected by an absolute count, and its density is balance / area.
func TestDoorCountersKeepTheBalance(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	cases := []struct {
		name     string
		in       []ReadingInput
		persons  int
		clamped  int
		density  float64
		count    int
		incident string // in the last outcome's incidents, "" none
	}{
		{"one door", []ReadingInput{door("gate", "d1", at(1), 30, 0), door("gate", "d1", at(2), 20, 10)}, 40, 0, 0.4, 40, ""},
		{"two doors add up", []ReadingInput{door("gate", "d1", at(1), 30, 0), door("gate", "d2", at(1), 50, 5), door("gate", "d1", at(2), 0, 15)}, 60, 0, 0.6, 60, ""},
		{"a missing out is 0", []ReadingInput{{ZoneID: "gate", SensorID: "d1", In: new(7), Timestamp: ts(at(1))}}, 7, 0, 0.07, 7, ""},
		{"never below zero, and the shortfall is shown", []ReadingInput{door("gate", "d1", at(1), 5, 0), door("gate", "d1", at(2), 0, 12)}, 0, 7, 0, 0, "7 below zero"},
		{"it keeps adding up the shortfall, logged once", []ReadingInput{door("gate", "d1", at(1), 0, 3), door("gate", "d1", at(2), 0, 2)}, 0, 5, 0, 0, ""},
		{"a count corrects the balance", []ReadingInput{door("gate", "d1", at(1), 30, 0), countAt("gate", "cam", at(2), 120), door("gate", "d1", at(3), 5, 0)}, 125, 0, 1.25, 125, ""},
		{"a door's own count corrects it too", []ReadingInput{door("gate", "d1", at(1), 30, 0), countAt("gate", "d1", at(2), 80), door("gate", "d2", at(3), 5, 1)}, 84, 0, 0.84, 84, ""},
		{"a count clears the shortfall", []ReadingInput{door("gate", "d1", at(1), 0, 3), countAt("gate", "cam", at(2), 10), door("gate", "d1", at(3), 1, 0)}, 11, 0, 0.11, 11, ""},
		{"an overcount beyond any believable density still counts (and alarms)", []ReadingInput{door("gate", "d1", at(1), 2500, 0)}, 2500, 0, 25, 2500, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTestMonitor(gateZone())
			o := feed(t, m, c.in...)
			r := o.Reading
			if r.Counters == nil || r.Counters.Persons != c.persons || r.Counters.Clamped != c.clamped {
				t.Fatalf("counters %+v, want %d persons, %d clamped", r.Counters, c.persons, c.clamped)
			}
			if r.Density != c.density || r.Count == nil || *r.Count != c.count {
				t.Fatalf("density %g count %v, want %g and %d", r.Density, r.Count, c.density, c.count)
			}
			var got string
			for _, in := range o.Incidents {
				if in.Kind == IncidentCounter {
					got += in.Message
				}
			}
			if (c.incident == "") != (got == "") || !strings.Contains(got, c.incident) {
				t.Fatalf("counter incidents %q, want %q", got, c.incident)
			}
		})
	}
}

// TestDoorCountersOverrunRaisesTheAlarm: a balance far over what any crowd
// can be is not refused: the zone is judged on it and goes to emergency.
func TestDoorCountersOverrunRaisesTheAlarm(t *testing.T) {
	m := newTestMonitor(gateZone())
	var o Outcome
	for s := 1; s <= 5; s++ {
		o = feed(t, m, door("gate", "d1", t0.Add(time.Duration(s)*time.Second), 600, 0))
	}
	if o.Reading.Level != Emergency || o.Reading.Density != 30 {
		t.Fatalf("after 3000 persons counted into 100 m²: %+v, want emergency at 30 p/m²", o.Reading)
	}
}

// TestDoorCountersFuseAsOneSensor: the doors are one sensor of the zone's
// fusion, live while any door is; with a camera the usual rule applies.
func TestDoorCountersFuseAsOneSensor(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	m := newTestMonitor(gateZone())
	o := feed(t, m, door("gate", "d1", at(1), 100, 0), door("gate", "d2", at(1), 50, 0), densityAt("gate", "cam", at(2), 1.0))
	if r := o.Reading; r.Sensors != 2 || r.Density != 1.5 || *r.Count != 150 || r.Counters.Doors != 2 {
		t.Fatalf("camera 1.0 and doors 150 persons in 100 m²: %+v %+v, want the higher (1.5) of 2 sensors", r, r.Counters)
	}
	o = feed(t, m, densityAt("gate", "cam", at(3), 3.0))
	if r := o.Reading; r.Sensors != 2 || r.Density != 3.0 || r.Count != nil {
		t.Fatalf("camera 3.0 and doors 1.5: %+v, want the camera's 3.0 (and no count)", r)
	}
	// A door that reports the zone's count is still fused once, as a door.
	o = feed(t, m, countAt("gate", "d1", at(4), 400))
	if r := o.Reading; r.Sensors != 2 || r.Density != 4.0 || *r.Count != 400 || r.Counters.Doors != 2 {
		t.Fatalf("door d1 counts 400: %+v %+v, want 2 sensors, the doors' 4.0", r, r.Counters)
	}
	// A peak names the doors when their balance reads the higher level.
	m = newTestMonitor(gateZone())
	o = feed(t, m, door("gate", "d1", at(1), 250, 0), densityAt("gate", "cam-1", at(1), 0.2), densityAt("gate", "cam-2", at(1), 0.3))
	if p := o.Reading.Peak; p == nil || p.SensorID != CountersSensorID {
		t.Fatalf("peak %+v, want the doors' %q", p, CountersSensorID)
	}
}

// TestDoorCountersSilence: each door is watched for silence; the balance
// stays in the fusion while one door is live, and the zone has no data when
// none is.
func TestDoorCountersSilence(t *testing.T) {
	m := newTestMonitor(gateZone())
	feed(t, m, door("gate", "d1", t0, 40, 0), door("gate", "d2", t0, 10, 0))
	for s := 1; s <= 70; s++ { // d2 keeps reporting, d1 falls silent
		feed(t, m, door("gate", "d2", t0.Add(time.Duration(s)*time.Second), 0, 0))
		m.Advance(t0.Add(time.Duration(s) * time.Second))
	}
	var sensorAlerts []string
	for _, a := range m.OpenAlerts() {
		if a.Kind == KindSensor {
			sensorAlerts = append(sensorAlerts, a.SensorID)
		}
	}
	if fmt.Sprint(sensorAlerts) != "[d1]" {
		t.Fatalf("sensor alerts for %v, want d1's", sensorAlerts)
	}
	r, _ := m.LatestOf("gate")
	if r.NoData || r.Density != 0.5 || r.Counters.Doors != 1 {
		t.Fatalf("with d2 live: %+v %+v, want the balance 50 from one live door", r, r.Counters)
	}
	p := m.Advance(t0.Add(135 * time.Second))
	if len(p.Readings) != 1 || !p.Readings[0].NoData || *p.Readings[0].Counters != (CounterBalance{Persons: 50}) {
		t.Fatalf("every door silent: %+v, want the zone without data, its balance kept, no door live", p.Readings)
	}
	// A door that reports again brings the balance back, as it was.
	o := feed(t, m, door("gate", "d1", t0.Add(136*time.Second), 1, 0))
	if o.Reading.NoData || *o.Reading.Count != 51 {
		t.Fatalf("d1 back: %+v, want 51 persons", o.Reading)
	}
}

// TestDoorCountersResetOnSchedule: the balance resets to zero at the
// venue's local time each day, by the engine's clock, and says so in the
// incident log; a day the clocks change still resets once, at the wall
// clock's time.
func TestDoorCountersResetOnSchedule(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		reset string
		start time.Time // first report, local
		want  time.Time // the reset, local
	}{
		{"at 04:00 the next morning", "04:00", time.Date(2026, 6, 12, 22, 0, 0, 0, berlin), time.Date(2026, 6, 13, 4, 0, 0, 0, berlin)},
		{"the night summer time begins (23 h day)", "04:00", time.Date(2026, 3, 28, 22, 0, 0, 0, berlin), time.Date(2026, 3, 29, 4, 0, 0, 0, berlin)},
		{"the night summer time ends (25 h day)", "04:00", time.Date(2026, 10, 24, 22, 0, 0, 0, berlin), time.Date(2026, 10, 25, 4, 0, 0, 0, berlin)},
		{"a time the clocks skip is taken as the hour after", "02:30", time.Date(2026, 3, 28, 22, 0, 0, 0, berlin), time.Date(2026, 3, 29, 3, 30, 0, 0, berlin)},
		{"a time the clocks pass twice: the first", "02:30", time.Date(2026, 10, 24, 22, 0, 0, 0, berlin), time.Date(2026, 10, 25, 2, 30, 0, 0, berlin)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rc ClockTime
			if err := rc.UnmarshalJSON([]byte(`"` + c.reset + `"`)); err != nil {
				t.Fatal(err)
			}
			v := Venue{Zones: []Zone{gateZone()}, Timezone: "Europe/Berlin", CounterReset: &rc}
			if err := v.Validate(); err != nil {
				t.Fatal(err)
			}
			m := NewMonitor(v.Zones, MonitorOptions{Rules: v.Rules(DefaultRules())})
			feed(t, m, door("gate", "d1", c.start, 300, 0))
			var resets []string
			var firstAt time.Time
			for now := c.start.Add(time.Minute); now.Before(c.start.Add(32 * time.Hour)); now = now.Add(time.Minute) {
				for _, in := range m.Advance(now).Incidents {
					if in.Kind == IncidentCounter {
						resets = append(resets, in.Message)
						if firstAt.IsZero() {
							firstAt = time.UnixMilli(in.Timestamp)
						}
					}
				}
			}
			if len(resets) != 2 { // that night and the next
				t.Fatalf("resets %q, want two (one a day)", resets)
			}
			if !strings.Contains(resets[0], "the balance was 300 persons") {
				t.Fatalf("first reset %q does not say what it dropped", resets[0])
			}
			// At the wall-clock time, by the engine's clock (advanced a
			// minute at a time).
			if d := firstAt.Sub(c.want); d < 0 || d >= time.Minute || !strings.Contains(resets[0], c.want.Format("2006-01-02 15:04")) {
				t.Fatalf("reset %q, want at %s", resets[0], c.want.Format("2006-01-02 15:04 MST"))
			}
			o := feed(t, m, door("gate", "d1", c.start.Add(32*time.Hour), 2, 0))
			if *o.Reading.Count != 2 {
				t.Fatalf("after the reset: %d persons, want 2", *o.Reading.Count)
			}
		})
	}
}

// TestDoorCountersResetBeforeAReport: a report arriving after the reset
// time and before the engine's next tick counts after the reset, not into
// the balance the reset drops.
func TestDoorCountersResetBeforeAReport(t *testing.T) {
	rc := ClockTime(4 * 60)
	v := Venue{Zones: []Zone{gateZone()}, Timezone: "UTC", CounterReset: &rc}
	m := NewMonitor(v.Zones, MonitorOptions{Rules: v.Rules(DefaultRules())})
	night := time.Date(2026, 6, 13, 3, 59, 59, 0, time.UTC)
	feed(t, m, door("gate", "d1", night, 300, 0))
	o := feed(t, m, door("gate", "d1", night.Add(1500*time.Millisecond), 3, 0))
	if *o.Reading.Count != 3 || len(o.Incidents) == 0 {
		t.Fatalf("first report after 04:00: %v persons, incidents %v; want 3 and the reset logged", *o.Reading.Count, o.Incidents)
	}
	if p := m.Advance(night.Add(2 * time.Second)); len(p.Incidents) != 0 {
		t.Fatalf("reset twice: %v", p.Incidents)
	}
}

// TestDoorReportsAreCountedOnce: crossings are deltas, so a report resent
// (same door, same timestamp) or older than the last counted is refused as
// a conflict, in a later batch or within one, also from a door whose clock
// runs ahead; the balance does not move.
func TestDoorReportsAreCountedOnce(t *testing.T) {
	m := newTestMonitor(gateZone())
	feed(t, m, door("gate", "d1", t0, 10, 0))
	ahead := t0.Add(90 * time.Second) // within the skew, clamped to the arrival
	rs, e := admit(t, m, t0.Add(time.Second), door("gate", "d1", ahead, 5, 0))
	if e != nil {
		t.Fatal(e)
	}
	m.Observe(rs[0])
	cases := []struct {
		name string
		now  time.Time
		in   []ReadingInput
		want string
	}{
		{"the same report again", t0.Add(2 * time.Second), []ReadingInput{door("gate", "d1", ahead, 5, 0)}, "[0].timestamp"},
		{"an older one", t0.Add(2 * time.Second), []ReadingInput{door("gate", "d1", t0.Add(30*time.Second), 5, 0)}, "[0].timestamp"},
		{"twice in one batch", t0.Add(100 * time.Second), []ReadingInput{door("gate", "d2", t0.Add(99*time.Second), 1, 0), door("gate", "d2", t0.Add(99*time.Second), 1, 0)}, "[1].timestamp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, e := admit(t, m, c.now, c.in...)
			if e == nil || e.Code != ErrConflict || e.Field != c.want || !strings.Contains(e.Message, "not counted twice") {
				t.Fatalf("error %+v, want a conflict at %s", e, c.want)
			}
		})
	}
	if r, _ := m.LatestOf("gate"); *r.Count != 15 {
		t.Fatalf("balance %d, want 15", *r.Count)
	}
	// The door's next report, after the one its clock ran ahead with.
	if _, e := admit(t, m, t0.Add(91*time.Second), door("gate", "d1", t0.Add(91*time.Second), 1, 0)); e != nil {
		t.Fatalf("a new report refused: %v", e)
	}
}

func TestAdmitRefusesBadCrossings(t *testing.T) {
	m := newTestMonitor(gateZone())
	now := t0
	neg, huge := -1, MaxCrossings+1
	cases := []struct {
		name  string
		in    ReadingInput
		field string
		msg   string
	}{
		{"negative in", ReadingInput{ZoneID: "gate", SensorID: "d1", In: &neg, Timestamp: ts(now)}, "[0].in", "must not be negative"},
		{"negative out", ReadingInput{ZoneID: "gate", SensorID: "d1", Out: &neg, Timestamp: ts(now)}, "[0].out", "must not be negative"},
		{"huge in", ReadingInput{ZoneID: "gate", SensorID: "d1", In: &huge, Timestamp: ts(now)}, "[0].in", "broken counter"},
		{"crossings and density", ReadingInput{ZoneID: "gate", SensorID: "d1", In: new(1), Density: f64(1), Timestamp: ts(now)}, "[0].in", "not several"},
		{"crossings and count", ReadingInput{ZoneID: "gate", SensorID: "d1", Out: new(1), Count: new(1), Timestamp: ts(now)}, "[0].out", "not several"},
		{"no door", ReadingInput{ZoneID: "gate", In: new(1), Timestamp: ts(now)}, "[0].sensorId", "counted per door"},
		{"no timestamp", ReadingInput{ZoneID: "gate", SensorID: "d1", In: new(1)}, "[0].timestamp", "resent"},
		{"the doors' own id", ReadingInput{ZoneID: "gate", SensorID: CountersSensorID, In: new(1), Timestamp: ts(now)}, "[0].sensorId", "reserved"},
		{"nothing at all", ReadingInput{ZoneID: "gate", SensorID: "d1", Timestamp: ts(now)}, "[0].density", "in/out"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, e := admit(t, m, now, c.in)
			if e == nil || e.Field != c.field || e.Code != ErrInvalid || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("error %+v, want %s: …%s…", e, c.field, c.msg)
			}
		})
	}
}

// TestDoorCountersSurviveARestart: what CountersToSave hands the store,
// RestoreCounters puts back: the balance continues, and a report counted
// before the restart is still refused.
func TestDoorCountersSurviveARestart(t *testing.T) {
	m := newTestMonitor(gateZone())
	feed(t, m, door("gate", "d1", t0, 120, 0), door("gate", "d2", t0, 0, 20))
	zs, ds := m.CountersToSave()
	if fmt.Sprint(zs) != fmt.Sprint([]ZoneCounters{{ZoneID: "gate", Persons: 100}}) || len(ds) != 2 {
		t.Fatalf("to save: %v %v", zs, ds)
	}
	if zs, ds := m.CountersToSave(); len(zs)+len(ds) != 0 {
		t.Fatalf("saved twice: %v %v", zs, ds)
	}
	next := newTestMonitor(gateZone())
	next.RestoreCounters(zs, ds)
	_, e := admit(t, next, t0.Add(time.Second), door("gate", "d1", t0, 120, 0))
	if e == nil || e.Code != ErrConflict {
		t.Fatalf("a report counted before the restart: %+v, want a conflict", e)
	}
	o := feed(t, next, door("gate", "d1", t0.Add(time.Second), 5, 0))
	if *o.Reading.Count != 105 || o.Reading.Sensors != 1 || o.Reading.Counters.Doors != 1 {
		t.Fatalf("after the restart: %+v %+v, want 105 persons from the one door that reported", o.Reading, o.Reading.Counters)
	}
}

func TestVenueCounterResetNeedsATimezone(t *testing.T) {
	rc := ClockTime(240)
	off := CounterResetOff
	cases := []struct {
		name  string
		v     Venue
		field string
	}{
		{"venue reset without timezone", Venue{Zones: []Zone{gateZone()}, CounterReset: &rc}, "counterReset"},
		{"zone reset without timezone", Venue{Zones: []Zone{Zone{ID: "g", Kind: Moving, AreaM2: 5, Rules: &RuleOverrides{CounterReset: &rc}}.WithDefaults()}}, "zones[0].rules.counterReset"},
		{"unknown timezone", Venue{Zones: []Zone{gateZone()}, Timezone: "Mars/Olympus"}, "timezone"},
		{"off needs nothing", Venue{Zones: []Zone{gateZone()}, CounterReset: &off}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.v.Validate()
			var e *Error
			if c.field == "" && err == nil {
				return
			}
			if !errors.As(err, &e) || e.Field != c.field {
				t.Fatalf("error %v, want one naming %s", err, c.field)
			}
		})
	}
	var ct ClockTime
	for _, bad := range []string{`"4:00"`, `"24:00"`, `"04:60"`, `4`, `"04:00:00"`} {
		if err := ct.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s taken as %v", bad, ct)
		}
	}
}

// TestDoorCountersRates: inPerMin and outPerMin are every door's crossings
// over the last minute, by the engine's clock.
func TestDoorCountersRates(t *testing.T) {
	m := newTestMonitor(gateZone())
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	o := feed(t, m, door("gate", "d1", at(0), 30, 5), door("gate", "d2", at(20), 10, 0), door("gate", "d1", at(40), 20, 5))
	if c := o.Reading.Counters; c.InPerMin != 60 || c.OutPerMin != 10 {
		t.Fatalf("rates %+v, want 60 in and 10 out a minute", c)
	}
	o = feed(t, m, door("gate", "d2", at(70), 0, 0)) // the first report is over a minute old
	if c := o.Reading.Counters; c.InPerMin != 30 || c.OutPerMin != 5 {
		t.Fatalf("rates %+v, want the last minute's 30 in and 5 out", c)
	}
}
