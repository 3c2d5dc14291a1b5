package crowd

import (
	"fmt"
	"time"
)

// levelRule keeps the one rule alert of a level-driven kind (density,
// capacity) in step with its track's level:
//   - none open and the level is raised: raise one;
//   - the level goes above the alert's: escalate it;
//   - the level stays at the alert's: remind, if unacknowledged and critical;
//   - the level comes down: a watch or warning alert follows it down and
//     resolves at normal; a critical or emergency alert never clears by
//     itself, and resolves only once acknowledged. If the zone is still
//     raised then, an alert for its current level opens once that level
//     has held for DwellLow (see levelTrack.settled).
func (m *Monitor) levelRule(z *zoneState, kind AlertKind, track *levelTrack, density float64, msg string, at int64, c *changes) {
	level := track.level
	e := z.slots[kind]
	if e == nil {
		if level >= Watch && track.settled(time.UnixMilli(at), z.rules.DwellLow) {
			m.raise(z, kind, level, msg, density, at, false, c)
		}
		return
	}
	switch {
	case level > e.a.Level:
		m.escalate(z, e, level, msg, density, at, c)
	case level == e.a.Level:
		if level >= Critical {
			m.remind(z, e, at, c)
		}
	case e.a.Level <= Warning:
		if level == Normal {
			m.resolve(z, e, fmt.Sprintf("zone %s is back to normal", z.zone.Name), at, engineActor, c)
			return
		}
		m.lower(e, level, msg, density, at, c)
	case e.a.Status == StatusAcknowledged:
		m.resolve(z, e, fmt.Sprintf("acknowledged, and zone %s is below %s", z.zone.Name, e.a.Level), at, engineActor, c)
	}
}

// trackLevel is the current level of the track behind a rule alert's kind.
func (z *zoneState) trackLevel(kind AlertKind) (Level, bool) {
	switch kind {
	case KindDensity:
		return z.density.level, true
	case KindCapacity:
		return z.capacity.level, true
	}
	return Normal, false
}
