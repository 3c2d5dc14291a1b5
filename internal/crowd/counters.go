package crowd

import (
	"fmt"
	"time"
)

// Door counters. A door (a turnstile, a gate's light barrier) does not see
// the zone: it counts the people who cross it, in and out, and reports them
// as crossings since its previous report. The zone's occupancy is then the
// running balance of all its doors' crossings:
//
//   - balance += in − out for each report, never below zero. A balance that
//     would go below zero is a counter fault (a missed entry, a doubled
//     exit): the balance stays at zero and the shortfall is kept as Clamped,
//     shown with the zone and logged once, never hidden.
//   - An absolute count of the zone (a count reading, from any sensor)
//     corrects the balance: the doors continue from it. A door that sends
//     one stays a door (fused through the balance, not a second time).
//   - A venue empties overnight: the balance resets to zero at the rules'
//     CounterReset, local time of the venue's timezone (ClockTime), by the
//     engine's clock (Advance), and the incident log says so.
//
// The balance enters the zone's fusion as one sensor, CountersSensorID
// (density = balance / area, count = balance), live while any of its doors
// is live. So a zone with only doors has the doors' occupancy as its
// density, and a zone with a camera and doors fuses the two by the usual
// rule (of two, the higher). Each door is a sensor of its own for silence:
// a door that stops reporting raises its sensor alert as a camera would.
//
// There is no upper bound on the balance: thousands of crossings too many
// give a density beyond MaxDensity, which raises the zone's alarms. That is
// meant: a real overcrowding must alarm, and a counter that runs away must be
// looked at; refusing its reports would hide both.

// CountersSensorID is the virtual sensor of a zone's door counters in its
// fusion (and in a Peak); no real sensor may take the id.
const CountersSensorID = "counters"

// CounterBalance is a zone's door-counter state as the streams show it.
type CounterBalance struct {
	// Persons is the balance: in − out of every door since the last reset
	// or count, never below zero.
	Persons int `json:"persons"`
	// InPerMin and OutPerMin are the crossings of every door over the last
	// minute (by the engine's clock): persons per minute in and out.
	InPerMin  int `json:"inPerMin"`
	OutPerMin int `json:"outPerMin"`
	// Doors is how many door counters are live.
	Doors int `json:"doors"`
	// Clamped is how many more persons the doors counted out than the
	// balance held, since the last reset or count: the balance stayed at
	// zero. Not zero means a counter is at fault.
	Clamped int `json:"clamped,omitempty"`
}

// counterState is a zone's balance.
type counterState struct {
	balance int
	clamped int
	// resetAt is the scheduled reset last applied (or, for a new balance,
	// the one just past when it began): the next one is due after it.
	resetAt time.Time
	dirty   bool // changed since CountersToSave
	// recent are the reports of the last minute, oldest first, for the
	// rates (not stored: a restarted engine's rates start again).
	recent []crossing
}

// crossing is one door report, by the engine's clock.
type crossing struct {
	at      time.Time
	in, out int
}

// rateWindow is the span of the rates; maxRecent bounds the reports it
// keeps (64 doors reporting every second), so a flood cannot grow it.
const (
	rateWindow = time.Minute
	maxRecent  = 64 * 60
)

// trim drops the reports older than the rate window at now.
func (cs *counterState) trim(now time.Time) {
	i := 0
	for i < len(cs.recent) && now.Sub(cs.recent[i].at) >= rateWindow {
		i++
	}
	if over := len(cs.recent) - i - maxRecent; over > 0 {
		i += over
	}
	cs.recent = cs.recent[i:]
}

// counterResetDue returns the latest scheduled reset at or before now, or
// zero when the zone has no schedule. The reset is at the wall-clock time
// of the venue's timezone each day (time.Date: on a day the clock skips
// that time, the moment it normalises to; on a day it passes twice, the
// first).
func (z *zoneState) counterResetDue(now time.Time) time.Time {
	loc, at := z.rules.Location, z.rules.CounterReset
	if loc == nil || at < 0 {
		return time.Time{}
	}
	l := now.In(loc)
	h, mi := int(at)/60, int(at)%60
	due := time.Date(l.Year(), l.Month(), l.Day(), h, mi, 0, 0, loc)
	if due.After(now) {
		due = time.Date(l.Year(), l.Month(), l.Day()-1, h, mi, 0, 0, loc)
	}
	return due
}

// counterBalance returns the zone's balance, starting one at now.
func (z *zoneState) counterBalance(now time.Time) *counterState {
	if z.counters == nil {
		z.counters = &counterState{resetAt: z.counterResetDue(now), dirty: true}
	}
	return z.counters
}

// countCrossings adds a door's report to the zone's balance.
func (z *zoneState) countCrossings(s *sensor, r Reading, c *changes) {
	cs := z.counterBalance(r.Received)
	in, out := *r.In, *r.Out
	s.counter, s.counted, s.countSaved = true, r.Sent, false
	cs.recent = append(cs.recent, crossing{at: r.Received, in: in, out: out})
	cs.trim(r.Received)
	b := cs.balance + in - out
	if b < 0 {
		if cs.clamped == 0 {
			c.log(Incident{Timestamp: ms(r.Received), Kind: IncidentCounter, ZoneID: z.zone.ID, Actor: engineActor,
				Message: fmt.Sprintf("zone %s: door counters went %d below zero (%s reported %d in, %d out while the balance held %d): the balance stays at 0; a counter misses entries or counts exits twice",
					z.zone.Name, -b, z.sensorLabel(s.id), in, out, cs.balance)})
		}
		cs.clamped -= b
		b = 0
	}
	cs.balance, cs.dirty = b, true
	s.density = float64(b) / z.zone.AreaM2
}

// correctCount sets the balance to an absolute count of the zone.
func (z *zoneState) correctCount(count int) {
	if cs := z.counters; cs != nil && (cs.balance != count || cs.clamped != 0) {
		cs.balance, cs.clamped, cs.dirty = count, 0, true
	}
}

// resetCounters applies the zone's scheduled reset when one is due.
func (m *Monitor) resetCounters(z *zoneState, now time.Time, c *changes) {
	cs := z.counters
	if cs == nil {
		return
	}
	due := z.counterResetDue(now)
	switch {
	case due.IsZero() || !due.After(cs.resetAt):
		return
	case cs.resetAt.IsZero():
		// A balance kept before a schedule was configured: the first due
		// reset is the next one, not one that passed before anyone asked
		// for it (resetting a full stand at start-up would hide it).
		cs.resetAt, cs.dirty = due, true
		return
	}
	was := cs.balance
	cs.balance, cs.clamped, cs.resetAt, cs.dirty = 0, 0, due, true
	local := due.In(z.rules.Location)
	c.log(Incident{Timestamp: ms(now), Kind: IncidentCounter, ZoneID: z.zone.ID, Actor: engineActor,
		Message: fmt.Sprintf("zone %s: door counters reset to 0 at %s %s, as scheduled (the balance was %d persons)",
			z.zone.Name, local.Format("2006-01-02 15:04"), z.rules.Location, was)})
}

// counterView is the balance as the streams show it at now (engine clock).
func (z *zoneState) counterView(now time.Time) *CounterBalance {
	cs := z.counters
	if cs == nil {
		return nil
	}
	v := &CounterBalance{Persons: cs.balance, Clamped: cs.clamped}
	for _, s := range z.sensorOrder {
		if s.counter && z.live(s, now) {
			v.Doors++
		}
	}
	cs.trim(now)
	for _, c := range cs.recent {
		v.InPerMin += c.in
		v.OutPerMin += c.out
	}
	return v
}

// countersSensor is the balance as one sensor of the zone's fusion.
func (z *zoneState) countersSensor() *sensor {
	n := z.counters.balance
	return &sensor{id: CountersSensorID, density: float64(n) / z.zone.AreaM2, count: &n}
}

// ZoneCounters is a zone's balance, for the store.
type ZoneCounters struct {
	ZoneID           string
	Persons, Clamped int
	ResetAt          time.Time // zero: no schedule yet
}

// DoorCounted is the timestamp of a door's last counted report, for the
// store: a report resent after a restart is still recognised.
type DoorCounted struct {
	ZoneID, SensorID string
	Counted          time.Time
}

// CountersToSave returns the balances and doors changed since the last
// call. The engine commits them with the step that changed them, so a
// restarted engine or a new leader continues the balance instead of
// showing a full stand empty, and never counts a report twice.
func (m *Monitor) CountersToSave() ([]ZoneCounters, []DoorCounted) {
	var zs []ZoneCounters
	var ds []DoorCounted
	for _, z := range m.zones {
		cs := z.counters
		if cs == nil {
			continue
		}
		if cs.dirty {
			cs.dirty = false
			zs = append(zs, ZoneCounters{ZoneID: z.zone.ID, Persons: cs.balance, Clamped: cs.clamped, ResetAt: cs.resetAt})
		}
		for _, s := range z.sensorOrder {
			if s.counter && !s.countSaved && !s.counted.IsZero() {
				s.countSaved = true
				ds = append(ds, DoorCounted{ZoneID: z.zone.ID, SensorID: s.id, Counted: s.counted})
			}
		}
	}
	return zs, ds
}

// RestoreCounters puts back the balances and doors the store kept. A door
// is watched and remembered as a counter, and is fused once it reports
// (as RestoreSensor's sensors are); call it after RestoreSensor. Unknown
// zones are ignored.
func (m *Monitor) RestoreCounters(zones []ZoneCounters, doors []DoorCounted) {
	for _, zc := range zones {
		z := m.byID[zc.ZoneID]
		if z == nil {
			continue
		}
		z.counters = &counterState{balance: max(zc.Persons, 0), clamped: max(zc.Clamped, 0), resetAt: zc.ResetAt}
	}
	for _, d := range doors {
		z := m.byID[d.ZoneID]
		if z == nil || z.counters == nil || d.SensorID == TestSensorID || d.SensorID == CountersSensorID {
			continue
		}
		s := z.sensors[d.SensorID]
		if s == nil {
			if len(z.sensors) >= MaxSensorsPerZone {
				continue
			}
			s = z.sensorFor(d.SensorID)
			// Not in the registry (the engine stopped before it was
			// saved): watched from its last report's time, so that it is
			// not forgotten at once with its mark.
			s.seen, s.saved = d.Counted, d.Counted
		}
		s.counter, s.counted, s.countSaved = true, later(s.counted, d.Counted), true
	}
}
