package crowd

import (
	"fmt"
	"slices"
	"time"
)

// A zone is watched by one or more sensors (overlapping cameras, a counter
// at each door). Each keeps its own latest reading; the zone's density fuses
// the latest readings of the sensors that are live, so two sensors of one
// zone do not fight over one series and a broken one does not decide alone.
//
// The fusion rule is the upper median of the live sensors' latest densities:
//   - one sensor: its value;
//   - two: the higher (with two, nobody can tell which one is wrong, and a
//     crowd must not be hidden);
//   - three or more: the median, upper for an even count, so one sensor
//     stuck high or low cannot move the zone on its own.
//
// A sensor that reads a higher level than the fused density is never hidden
// from the operator: the judged reading carries it as Peak, and a screen
// shows it beside the zone's level (DOMAIN.md: "the median with the spread
// shown").

// TestSensorID is the sensor a testing control's hold speaks as. While live
// it outvotes the zone's real sensors (the hold is the point of the test),
// it is never counted, never alerts when silent, and is forgotten when the
// hold ends.
const TestSensorID = "testing-control"

// MaxSensorsPerZone bounds the sensors a zone remembers: a sensor token inventing
// a new sensorId per reading must not grow the engine without end.
const MaxSensorsPerZone = 64

// sensorForget: a sensor silent this long is forgotten (its alert resolved),
// so a sensor taken out of service does not alert for ever.
const sensorForget = 24 * time.Hour

// sensor is one source of readings of a zone.
type sensor struct {
	id      string
	time    time.Time // reading time of its latest reading: its own order
	seen    time.Time // engine clock when its latest reading arrived
	density float64
	count   *int
	silent  bool
	// known: its density is known (it reported since this monitor
	// started); a sensor restored from the registry is watched for silence
	// but fused only once it reports.
	known bool
	alert *alertEntry // its open sensor alert, if any
	// saved is the last_seen last handed to the store (SensorsToSave).
	saved time.Time
	// notified is when its sensor alert was last notified (ms): one sensor
	// flapping is re-notified at most once per RenotifyGap, and another
	// sensor going silent is news of its own.
	notified int64
	// counter: its latest report was a door's crossings (counters.go); it
	// is fused through the zone's balance, not by its own value. counted
	// is the sensor's own timestamp of its last counted report (saved to
	// the store unless countSaved).
	counter    bool
	counted    time.Time
	countSaved bool
}

// sensorLabel names a sensor for an operator.
func (z *zoneState) sensorLabel(id string) string {
	if id == "" {
		return fmt.Sprintf("the sensor of zone %s", z.zone.Name)
	}
	return fmt.Sprintf("sensor %s of zone %s", id, z.zone.Name)
}

// sensorFor returns the zone's sensor id, creating it.
func (z *zoneState) sensorFor(id string) *sensor {
	if s := z.sensors[id]; s != nil {
		return s
	}
	s := &sensor{id: id}
	z.sensors[id] = s
	z.sensorOrder = append(z.sensorOrder, s)
	return s
}

func (z *zoneState) forgetSensor(s *sensor) {
	delete(z.sensors, s.id)
	z.sensorOrder = slices.DeleteFunc(z.sensorOrder, func(o *sensor) bool { return o == s })
}

// live reports whether s counts in the zone's fusion at now (engine clock).
func (z *zoneState) live(s *sensor, now time.Time) bool {
	return s.known && !s.silent && now.Sub(s.seen) < z.rules.SensorTimeout
}

// fusion is a zone's fused latest reading.
type fusion struct {
	density float64
	count   *int // the count of the sensor whose value was taken, if it gave one
	sensors int  // live sensors, the test sensor not counted
	peak    *SensorValue
	// counters is the zone's door-counter balance, when it has one.
	counters *CounterBalance
}

// fuse combines the latest readings of the live sensors (see the top of
// this file). A live testing hold wins outright.
func (z *zoneState) fuse(now time.Time) fusion {
	if s := z.sensors[TestSensorID]; s != nil && z.live(s, now) {
		return fusion{density: s.density, count: s.count}
	}
	if len(z.sensorOrder) == 1 && z.counters == nil { // the common case, without an allocation
		if s := z.sensorOrder[0]; z.live(s, now) {
			return fusion{density: s.density, count: s.count, sensors: 1}
		}
		return fusion{}
	}
	live := make([]*sensor, 0, len(z.sensorOrder))
	doors := false
	for _, s := range z.sensorOrder {
		switch {
		case !z.live(s, now):
		case s.counter:
			doors = true // fused once, through the balance (counters.go)
		default:
			live = append(live, s)
		}
	}
	if doors {
		live = append(live, z.countersSensor())
	}
	if len(live) == 0 {
		return fusion{}
	}
	slices.SortStableFunc(live, func(a, b *sensor) int {
		switch {
		case a.density < b.density:
			return -1
		case a.density > b.density:
			return 1
		}
		return 0
	})
	pick := live[len(live)/2]
	f := fusion{density: pick.density, count: pick.count, sensors: len(live)}
	top := live[len(live)-1]
	bands := z.zone.Thresholds
	if l := bands.Classify(top.density); l > bands.Classify(f.density) {
		f.peak = &SensorValue{SensorID: top.id, Density: top.density, Level: l}
	}
	return f
}

// sensorReported updates a sensor with a reading and resolves its silence
// alert: the sensor is back.
func (m *Monitor) sensorReported(z *zoneState, r Reading, received time.Time, c *changes) {
	s := z.sensorFor(r.SensorID)
	s.time, s.seen, s.density, s.count = r.Time, received, r.Density, r.Count
	s.silent, s.known = false, true
	// A door that reports the zone's absolute count (many counter systems
	// keep one) corrects the balance and stays a door, fused once through
	// it; any other reading makes it a sensor of its own.
	s.counter = s.counter && r.Count != nil
	if s.alert != nil {
		e := s.alert
		s.alert = nil
		m.resolve(z, e, fmt.Sprintf("%s reports again", z.sensorLabel(s.id)), ms(received), engineActor, c)
	}
}

// sensorsSilent marks the sensors of z that have been silent for the
// timeout, raising an alert for each, and forgets those silent for a day.
// It reports whether the zone has just lost its last live sensor.
func (m *Monitor) sensorsSilent(z *zoneState, now time.Time, c *changes) {
	at := ms(now)
	for _, s := range slices.Clone(z.sensorOrder) {
		if s.id == TestSensorID {
			if !z.live(s, now) {
				z.forgetSensor(s)
			}
			continue
		}
		if now.Sub(s.seen) >= sensorForget {
			if s.alert != nil {
				m.resolve(z, s.alert, fmt.Sprintf("%s forgotten after %s of silence", z.sensorLabel(s.id), sensorForget), at, engineActor, c)
			}
			z.forgetSensor(s)
			continue
		}
		if s.silent || now.Sub(s.seen) < z.rules.SensorTimeout {
			continue
		}
		s.silent = true
		if s.alert != nil {
			continue // restored from the store: still open
		}
		msg := fmt.Sprintf("%s silent for %s (last reading at %s)", z.sensorLabel(s.id),
			now.Sub(s.seen).Round(time.Second), s.seen.UTC().Format("15:04:05Z"))
		e := m.raise(z, KindSensor, Watch, msg, s.density, at, false, c)
		e.a.SensorID = s.id
		s.alert = e
		if !e.a.Muted && (s.notified == 0 || at-s.notified >= z.rules.RenotifyGap.Milliseconds()) {
			e.a.Notifications++
			e.notified, s.notified = at, at
		}
	}
	if !z.has || z.latest.NoData {
		return
	}
	for _, s := range z.sensorOrder {
		if z.live(s, now) {
			return
		}
	}
	z.latest.NoData, z.latest.Sensors, z.latest.Peak, z.latest.Outlier = true, 0, nil, false
	if cv := z.latest.Counters; cv != nil { // the balance as it was, with no door live
		z.latest.Counters = &CounterBalance{Persons: cv.Persons, Clamped: cv.Clamped}
	}
	c.noData = append(c.noData, z.latest)
	c.log(Incident{Timestamp: at, Kind: IncidentLevel, ZoneID: z.zone.ID, Actor: engineActor,
		Message: fmt.Sprintf("zone %s: no data (every sensor silent; last reading at %s)", z.zone.Name,
			time.UnixMilli(z.latest.Timestamp).UTC().Format("15:04:05Z"))})
}

// ForgetSensor drops a sensor of a zone without an alert (the engine ends
// a testing hold with it). Unknown zones and sensors are ignored.
func (m *Monitor) ForgetSensor(zoneID, sensorID string) {
	z := m.byID[zoneID]
	if z == nil {
		return
	}
	if s := z.sensors[sensorID]; s != nil && s.alert == nil {
		z.forgetSensor(s)
	}
}

// SensorSeen is a sensor's last report, for the store's sensor registry.
type SensorSeen struct {
	ZoneID, SensorID string
	LastSeen         time.Time // the engine's clock
}

// SensorsToSave returns the sensors whose last report the store should
// learn (new ones, and the others at most once per every), so that a
// restarted engine or a new leader still notices a sensor that falls
// silent. The test sensor is never saved.
func (m *Monitor) SensorsToSave(every time.Duration) []SensorSeen {
	var out []SensorSeen
	for _, z := range m.zones {
		for _, s := range z.sensorOrder {
			if s.id == TestSensorID || !s.known || !s.seen.After(s.saved) || (!s.saved.IsZero() && s.seen.Sub(s.saved) < every) {
				continue
			}
			s.saved = s.seen
			out = append(out, SensorSeen{ZoneID: z.zone.ID, SensorID: s.id, LastSeen: s.seen})
		}
	}
	return out
}

// RestoreSensor puts back a sensor the store's registry knows: watched for
// silence from lastSeen on (it raises its alert if it does not report again
// within the timeout), fused once it reports. Unknown zones and sensors a
// day silent are ignored.
func (m *Monitor) RestoreSensor(zoneID, sensorID string, lastSeen, now time.Time) {
	z := m.byID[zoneID]
	if z == nil || sensorID == TestSensorID || now.Sub(lastSeen) >= sensorForget || len(z.sensors) >= MaxSensorsPerZone {
		return
	}
	s := z.sensorFor(sensorID)
	if s.known {
		return
	}
	s.seen = later(s.seen, lastSeen)
	s.saved = s.seen
}
