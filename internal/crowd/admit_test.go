package crowd

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func admit(t *testing.T, m *Monitor, now time.Time, in ...ReadingInput) ([]Reading, *Error) {
	t.Helper()
	rs, err := m.Admit(in, AdmitOptions{Now: now, MaxClockSkew: 2 * time.Minute})
	if err == nil {
		return rs, nil
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *crowd.Error", err)
	}
	return nil, e
}

func ts(t time.Time) *int64 { v := t.UnixMilli(); return &v }

func TestAdmitRefusesBadReadings(t *testing.T) {
	now := t0
	m := newTestMonitor(movingZone("gate"))
	big := 30000
	cases := []struct {
		name  string
		in    ReadingInput
		field string
		msg   string
	}{
		{"timestamp in seconds", ReadingInput{ZoneID: "gate", Density: f64(1), Timestamp: func() *int64 { v := int64(1.7e9); return &v }()}, "[0].timestamp", "looks like seconds"},
		{"too far in the future", ReadingInput{ZoneID: "gate", Density: f64(1), Timestamp: ts(now.Add(3 * time.Minute))}, "[0].timestamp", "in the future"},
		{"unknown zone", ReadingInput{ZoneID: "mars", Density: f64(1)}, "[0].zoneId", "unknown zone"},
		{"impossible density", ReadingInput{ZoneID: "gate", Density: f64(21)}, "[0].density", "physically impossible"},
		{"impossible count", ReadingInput{ZoneID: "gate", Count: &big}, "[0].count", "physically impossible"},
		{"both density and count", ReadingInput{ZoneID: "gate", Density: f64(1), Count: &big}, "[0].density", "not both"},
		{"reserved sensor", ReadingInput{ZoneID: "gate", SensorID: TestSensorID, Density: f64(1)}, "[0].sensorId", "reserved"},
		{"sensor id with a newline", ReadingInput{ZoneID: "gate", SensorID: "cam\nFORGED", Density: f64(1)}, "[0].sensorId", "control characters"},
		{"sensor id too long (characters)", ReadingInput{ZoneID: "gate", SensorID: strings.Repeat("é", 65), Density: f64(1)}, "[0].sensorId", "at most 64 characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, e := admit(t, m, now, c.in)
			if e == nil || e.Field != c.field || e.Code != ErrInvalid || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("error %+v, want %s: …%s…", e, c.field, c.msg)
			}
		})
	}
	// 64 characters of two bytes each are fine: limits count characters.
	if _, e := admit(t, m, now, ReadingInput{ZoneID: "gate", SensorID: strings.Repeat("é", 64), Density: f64(1)}); e != nil {
		t.Fatalf("64 characters refused: %v", e)
	}
}

// TestRogueFutureSensorCannotMuteItsZone: a sensor 119 s ahead (inside the
// skew) is judged at its arrival, so the zone's honest sensors are not
// locked out, its own next honest readings are in order, and the zone's
// alerts come on time.
func TestRogueFutureSensorCannotMuteItsZone(t *testing.T) {
	for _, rogue := range []string{"cam-rogue", ""} {
		t.Run("rogue sensor "+rogue, func(t *testing.T) {
			m := newTestMonitor(movingZone("gate"))
			var outs []Outcome
			for s := range 60 {
				now := t0.Add(time.Duration(s) * time.Second)
				in := []ReadingInput{{ZoneID: "gate", SensorID: "cam-honest", Density: f64(2.6), Timestamp: ts(now)}}
				if s%10 == 0 {
					in = append(in, ReadingInput{ZoneID: "gate", SensorID: rogue, Density: f64(2.6), Timestamp: ts(now.Add(119 * time.Second))})
				}
				if rogue == "" && s%10 == 1 {
					// The same (zone's own) sensor, honest again a second later.
					in = []ReadingInput{{ZoneID: "gate", Density: f64(2.6), Timestamp: ts(now)}}
				}
				rs, e := admit(t, m, now, in...)
				if e != nil {
					t.Fatalf("at %ds: %v", s, e)
				}
				for _, r := range rs {
					if r.Time.After(now) {
						t.Fatalf("a reading judged in the future: %v > %v", r.Time, now)
					}
					outs = append(outs, m.Observe(r))
				}
			}
			// 2.6 on a moving zone is warning (2.0), shown from the first
			// second (two readings agree) and raised after the 30 s dwell.
			got := alertEvents(outs)
			if len(got) == 0 || got[0] != "density:warning:active@30s" {
				t.Fatalf("alerts %q, want a warning at 30 s", got)
			}
		})
	}
}

func TestTimeOrderIsPerSensor(t *testing.T) {
	m := newTestMonitor(movingZone("gate"))
	rs, e := admit(t, m, t0.Add(10*time.Second), ReadingInput{ZoneID: "gate", SensorID: "a", Density: f64(1), Timestamp: ts(t0.Add(5 * time.Second))})
	if e != nil {
		t.Fatal(e)
	}
	m.Observe(rs[0])
	// Another sensor, behind sensor a: accepted, and judged at the zone's
	// time (which never goes back).
	rs, e = admit(t, m, t0.Add(10*time.Second), ReadingInput{ZoneID: "gate", SensorID: "b", Density: f64(1), Timestamp: ts(t0.Add(2 * time.Second))})
	if e != nil {
		t.Fatalf("sensor b refused because of sensor a: %v", e)
	}
	if o := m.Observe(rs[0]); o.Reading.Timestamp != t0.Add(5*time.Second).UnixMilli() {
		t.Fatalf("judged at %d, want the zone's time", o.Reading.Timestamp)
	}
	// Sensor a going back is refused, naming it.
	_, e = admit(t, m, t0.Add(10*time.Second), ReadingInput{ZoneID: "gate", SensorID: "a", Density: f64(1), Timestamp: ts(t0.Add(4 * time.Second))})
	if e == nil || e.Field != "[0].timestamp" || !strings.Contains(e.Message, `sensor "a" of zone "gate"`) {
		t.Fatalf("sensor a back in time: %+v", e)
	}
	// Within one batch too.
	_, e = admit(t, m, t0.Add(10*time.Second),
		ReadingInput{ZoneID: "gate", SensorID: "c", Density: f64(1), Timestamp: ts(t0.Add(8 * time.Second))},
		ReadingInput{ZoneID: "gate", SensorID: "c", Density: f64(1), Timestamp: ts(t0.Add(7 * time.Second))})
	if e == nil || e.Field != "[1].timestamp" {
		t.Fatalf("out of order in a batch: %+v", e)
	}
}

// TestReadingsWithoutTimestampAreNeverOutOfOrder: a follower stamps a reading
// when it gets it; the leader may already have a newer one of the sensor.
func TestReadingsWithoutTimestampAreNeverOutOfOrder(t *testing.T) {
	m := newTestMonitor(movingZone("gate"))
	now := t0.Add(time.Minute)
	rs, _ := admit(t, m, now, ReadingInput{ZoneID: "gate", Density: f64(1)})
	m.Observe(rs[0])
	rs, err := m.Admit([]ReadingInput{{ZoneID: "gate", Density: f64(1)}}, AdmitOptions{Now: now, Stamp: now.Add(-300 * time.Millisecond), MaxClockSkew: time.Minute})
	if err != nil {
		t.Fatalf("a reading stamped by a follower a moment earlier: %v", err)
	}
	if !rs[0].Time.Equal(now) {
		t.Fatalf("stamped %v, want moved up to the sensor's latest %v", rs[0].Time, now)
	}
}

func TestSensorsPerZoneAreBounded(t *testing.T) {
	m := newTestMonitor(movingZone("gate"))
	var in []ReadingInput
	for i := range MaxSensorsPerZone {
		in = append(in, ReadingInput{ZoneID: "gate", SensorID: "s" + string(rune('A'+i%26)) + string(rune('a'+i/26)), Density: f64(1)})
	}
	rs, e := admit(t, m, t0, in...)
	if e != nil {
		t.Fatal(e)
	}
	for _, r := range rs {
		m.Observe(r)
	}
	if _, e := admit(t, m, t0, ReadingInput{ZoneID: "gate", SensorID: "one-too-many", Density: f64(1)}); e == nil || e.Field != "[0].sensorId" {
		t.Fatalf("sensor %d accepted: %+v", MaxSensorsPerZone+1, e)
	}
	if _, e := admit(t, m, t0, ReadingInput{ZoneID: "gate", SensorID: "sAa", Density: f64(1)}); e != nil {
		t.Fatalf("a known sensor refused: %v", e)
	}
}

func TestCheckReason(t *testing.T) {
	for _, c := range []struct {
		reason string
		ok     bool
	}{{"crush risk at gate A", true}, {"  ", false}, {"", false}, {strings.Repeat("ж", 500), true}, {strings.Repeat("ж", 501), false}, {"\xff", false}} {
		if err := CheckReason(c.reason); (err == nil) != c.ok {
			t.Errorf("CheckReason(%.20q) = %v, want ok %v", c.reason, err, c.ok)
		}
	}
}
