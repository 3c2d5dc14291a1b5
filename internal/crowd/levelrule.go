package crowd

import (
	"fmt"
	"time"
)

// levelRule keeps the one rule alert of a level-driven kind (density,
// capacity) in step with its track's dwelled level (not the displayed one:
// a level that has not held for its dwell shows on the dashboard but does
// not alert, see levelTrack):
//   - none open and the level is raised: raise one;
//   - the level goes above the alert's: escalate it;
//   - the level stays at the alert's: remind, if unacknowledged and critical;
//   - the level comes down: a watch or warning alert follows it down and
//     resolves at normal; a critical or emergency alert never clears by
//     itself, and resolves only once acknowledged. If the zone is still
//     raised then, an alert for its current level opens once that level
//     has held for DwellLow (see levelTrack.settled).
//
// msg is called only when the alert changes: formatting a message for
// every reading was a tenth of the ingest path's CPU.
func (m *Monitor) levelRule(z *zoneState, kind AlertKind, track *levelTrack, density float64, msg func() string, at int64, c *changes) {
	level := track.alert
	e := z.slots[kind]
	if e == nil {
		if level >= Watch && track.settled(time.UnixMilli(at), z.rules.DwellLow) {
			m.raise(z, kind, level, msg(), density, at, false, c)
		}
		return
	}
	switch {
	case level > e.a.Level:
		m.escalate(z, e, level, msg(), density, at, c)
	case level == e.a.Level:
		if level >= Critical {
			m.remind(z, e, at, c)
		}
	case e.a.Level <= Warning:
		if level == Normal {
			m.resolve(z, e, fmt.Sprintf("zone %s is back to normal", z.zone.Name), at, engineActor, c)
			return
		}
		m.lower(e, level, msg(), density, at, c)
	case e.a.Status == StatusAcknowledged:
		m.resolve(z, e, fmt.Sprintf("acknowledged, and zone %s is below %s", z.zone.Name, e.a.Level), at, engineActor, c)
	}
}

// trackLevel is the dwelled level of the track behind a rule alert's kind:
// the level its alert follows.
func (z *zoneState) trackLevel(kind AlertKind) (Level, bool) {
	switch kind {
	case KindDensity:
		return z.density.alert, true
	case KindCapacity:
		return z.capacity.alert, true
	}
	return Normal, false
}

// inEmergency reports whether the zone's alerts are in emergency, which
// mutes its lower alerts. It is the dwelled level, not the displayed one:
// the emergency alert that takes the operator's attention exists then, and
// a critical alert about to escalate is not muted in the seconds before.
func (z *zoneState) inEmergency() bool {
	return max(z.density.alert, z.capacity.alert) == Emergency
}
