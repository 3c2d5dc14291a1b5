package crowd

import (
	"fmt"
	"slices"
	"time"
)

// engineActor is the incident-log actor of everything the rules do.
const engineActor = "engine"

// resolvedMemory is how many resolved alert ids the monitor remembers, so
// that acknowledging one answers "conflict" instead of "not found". Older
// ones are the store's business.
const resolvedMemory = 4096

// alertEntry is an open alert and what the rules need to know about it
// beyond what a client sees.
type alertEntry struct {
	a      Alert
	seq    uint64 // raise order: OpenAlerts lists oldest first
	manual bool   // raised by Raise: no rule changes it, acknowledging resolves it
	// notified is when the alert was last sent as a notification (ms); the
	// reminders of an unacknowledged critical alert count from it.
	notified int64
}

// changes collects what one call did, for its Outcome: each changed alert
// once (its final copy, in order of first change) and the incident lines.
type changes struct {
	alerts    []*alertEntry
	seen      map[*alertEntry]bool
	incidents []Incident
	noData    []DensityReading // zones that lost their last live sensor
}

func (c *changes) touch(e *alertEntry) {
	if c.seen == nil {
		c.seen = map[*alertEntry]bool{}
	}
	if !c.seen[e] {
		c.seen[e] = true
		c.alerts = append(c.alerts, e)
	}
}

func (c *changes) log(in Incident) { c.incidents = append(c.incidents, in) }

func (c *changes) copies() []Alert {
	if len(c.alerts) == 0 {
		return nil
	}
	out := make([]Alert, len(c.alerts))
	for i, e := range c.alerts {
		out[i] = e.a
	}
	return out
}

func levelPtr(l Level) *Level { return &l }

// notifyHistory is when each level of one (zone, kind) was last notified, in
// ms: the re-notify gap applies to the same level and any lower one, so only
// an escalation above everything notified recently gets through.
type notifyHistory [Emergency + 1]int64

func (h *notifyHistory) allows(l Level, at int64, gap time.Duration) bool {
	for k := l; k <= Emergency; k++ {
		if h[k] != 0 && at-h[k] < gap.Milliseconds() {
			return false
		}
	}
	return true
}

// notify sends e as a notification unless it is muted or the same zone,
// kind and level (or higher) was notified within the gap. Manual alerts
// always go out (unless muted): an operator or a delivery test asked for them.
func (m *Monitor) notify(z *zoneState, e *alertEntry, at int64) {
	h := z.notified[e.a.Kind]
	if h == nil {
		h = &notifyHistory{}
		z.notified[e.a.Kind] = h
	}
	if e.a.Muted || (!e.manual && !h.allows(e.a.Level, at, z.rules.RenotifyGap)) {
		return
	}
	e.a.Notifications++
	e.notified = at
	h[e.a.Level] = at
}

// raise opens a new alert in z.
func (m *Monitor) raise(z *zoneState, kind AlertKind, level Level, msg string, density float64, at int64, manual bool, c *changes) *alertEntry {
	m.seq++
	e := &alertEntry{seq: m.seq, manual: manual, a: Alert{
		ID: m.newID(), ZoneID: z.zone.ID, Level: level, Kind: kind, Message: msg,
		Density: density, Timestamp: at, Status: StatusActive, UpdatedAt: at,
	}}
	if z.inEmergency() && level < Emergency {
		e.a.Muted, e.a.MutedReason = true, z.muteReason()
	}
	if kind != KindSensor { // a sensor alert is one per sensor: sensorsSilent notifies it
		m.notify(z, e, at)
	}
	m.open[e.a.ID] = e
	z.open = append(z.open, e)
	if !manual && kind != KindSensor {
		z.slots[kind] = e
	}
	c.touch(e)
	ik := IncidentAlert
	if kind == KindTest {
		ik = IncidentTest
	}
	actor := engineActor
	if manual {
		actor = "operator"
	}
	c.log(Incident{Timestamp: at, Kind: ik, ZoneID: z.zone.ID, AlertID: e.a.ID, Level: levelPtr(level), Actor: actor,
		Message: fmt.Sprintf("%s alert raised: %s", kind, msg)})
	return e
}

// escalate raises an open alert's level. It needs attention again, so it is
// active again (a past acknowledgement was for a lesser danger) and notified.
func (m *Monitor) escalate(z *zoneState, e *alertEntry, level Level, msg string, density float64, at int64, c *changes) {
	from := e.a.Level
	e.a.Level, e.a.Message, e.a.Density, e.a.UpdatedAt = level, msg, density, at
	e.a.Status, e.a.AcknowledgedBy, e.a.AcknowledgedAt = StatusActive, "", 0
	if e.a.Muted && !(z.inEmergency() && level < Emergency) {
		e.a.Muted, e.a.MutedReason = false, ""
	}
	m.notify(z, e, at)
	c.touch(e)
	actor := engineActor
	if e.manual {
		actor = "operator"
	}
	c.log(Incident{Timestamp: at, Kind: IncidentAlert, ZoneID: z.zone.ID, AlertID: e.a.ID, Level: levelPtr(level), Actor: actor,
		Message: fmt.Sprintf("%s alert escalated from %s to %s: %s", e.a.Kind, from, level, msg)})
}

// lower follows a self-clearing alert down to a lower, still raised level:
// the operator sees the current danger, and nobody is notified about an
// improvement (the level change is in the incident log already).
func (m *Monitor) lower(e *alertEntry, level Level, msg string, density float64, at int64, c *changes) {
	e.a.Level, e.a.Message, e.a.Density, e.a.UpdatedAt = level, msg, density, at
	c.touch(e)
}

// remind re-notifies an unacknowledged alert whose condition persists, once
// the gap since its last notification has passed.
func (m *Monitor) remind(z *zoneState, e *alertEntry, at int64, c *changes) {
	if e.a.Status != StatusActive || e.a.Muted || at-e.notified < z.rules.RenotifyGap.Milliseconds() {
		return
	}
	before := e.a.Notifications
	m.notify(z, e, at)
	if e.a.Notifications != before {
		e.a.UpdatedAt = at
		c.touch(e)
	}
}

// resolve closes an open alert.
func (m *Monitor) resolve(z *zoneState, e *alertEntry, why string, at int64, actor string, c *changes) {
	e.a.Status, e.a.ResolvedAt, e.a.UpdatedAt = StatusResolved, at, at
	e.a.Muted, e.a.MutedReason = false, ""
	delete(m.open, e.a.ID)
	z.open = slices.DeleteFunc(z.open, func(o *alertEntry) bool { return o == e })
	if z.slots[e.a.Kind] == e {
		delete(z.slots, e.a.Kind)
	}
	if z.manual[e.a.Kind] == e {
		delete(z.manual, e.a.Kind)
	}
	m.rememberResolved(e.a.ID)
	c.touch(e)
	c.log(Incident{Timestamp: at, Kind: IncidentResolve, ZoneID: z.zone.ID, AlertID: e.a.ID, Level: levelPtr(e.a.Level), Actor: actor,
		Message: fmt.Sprintf("%s alert resolved: %s", e.a.Kind, why)})
}

func (m *Monitor) rememberResolved(id string) {
	if len(m.resolvedOrder) >= resolvedMemory {
		delete(m.resolved, m.resolvedOrder[0])
		m.resolvedOrder = m.resolvedOrder[1:]
	}
	m.resolved[id] = true
	m.resolvedOrder = append(m.resolvedOrder, id)
}

// applyMutes makes the zone's open alerts agree with the inhibition rule: a
// zone in emergency mutes its alerts below emergency, so the operator's
// attention goes to the emergency; they come back when it ends.
func (m *Monitor) applyMutes(z *zoneState, at int64, c *changes) {
	for _, e := range z.open {
		mute := z.inEmergency() && e.a.Level < Emergency
		if mute == e.a.Muted {
			continue
		}
		e.a.UpdatedAt = at
		c.touch(e)
		if mute {
			e.a.Muted, e.a.MutedReason = true, z.muteReason()
			c.log(Incident{Timestamp: at, Kind: IncidentAlert, ZoneID: z.zone.ID, AlertID: e.a.ID, Level: levelPtr(e.a.Level), Actor: engineActor,
				Message: fmt.Sprintf("%s alert muted: %s", e.a.Kind, e.a.MutedReason)})
			continue
		}
		e.a.Muted, e.a.MutedReason = false, ""
		c.log(Incident{Timestamp: at, Kind: IncidentAlert, ZoneID: z.zone.ID, AlertID: e.a.ID, Level: levelPtr(e.a.Level), Actor: engineActor,
			Message: fmt.Sprintf("%s alert unmuted: zone %s left emergency", e.a.Kind, z.zone.Name)})
		// A warning that was muted has never reached the operator.
		if e.a.Status == StatusActive {
			m.notify(z, e, at)
		}
	}
}

func (z *zoneState) muteReason() string {
	return fmt.Sprintf("zone %s is in emergency: lower alerts muted", z.zone.Name)
}
