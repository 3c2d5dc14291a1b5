package crowd

import "time"

// levelTrack judges one measure of a zone (density, or occupancy against
// capacity) twice, because a control room needs two different answers:
//
//   - level is what the zone IS: the class of the smoothed value, shown on
//     the dashboard and carried by the density stream. It rises at once (the
//     rolling median already absorbs single spikes, so waiting longer only
//     hides a crowd that is already dense) and falls only through the
//     hysteresis (below each entry minus the margin for the hold), so the
//     display never flickers.
//   - alert is what the zone has been LONG ENOUGH to alert on: the highest
//     level whose entry the smoothed value has held for its dwell. It is
//     never above level, and falls with it. An excursion into warning
//     shorter than the dwell shows warning on the screen but leaves the
//     alert at the highest level that did dwell (say watch), so that a
//     brief peak does not notify anyone twice.
//
// It remembers, per level, since when the smoothed value has been
// continuously at or above the level's entry and since when continuously
// below its exit; a gap in the readings does not reset these, because the
// engine cannot tell a quiet sensor from an unchanged crowd.
type levelTrack struct {
	// level is displayed: the smoothed class, up at once, down by the
	// hysteresis. alert is dwelled: what the level-driven alert follows,
	// never above level.
	level, alert Level
	above        [Emergency + 1]time.Time // zero: not at/above entry now
	below        [Emergency + 1]time.Time // zero: not below exit now
	// emergencyRun counts consecutive raw values at/above the emergency
	// entry, the first of them at emergencySince.
	emergencyRun   int
	emergencySince time.Time
	// raised is when level last rose. A hold below an exit counts from it
	// at the earliest: emergency entered on two raw readings while the
	// median stayed low must still be held, not released on the next one.
	raised time.Time
	// changed is when alert last changed, fell whether that was down.
	changed time.Time
	fell    bool
	// entered reports that the last step took the dwelled level into
	// emergency from below: a new emergency, the only thing that may switch
	// venue-wide emergency mode on (see Outcome.Emergency).
	entered bool
}

// trackInput is one observation for a track.
type trackInput struct {
	at       time.Time
	smoothed float64
	raw      float64
	bands    Thresholds
	margin   float64 // hysteresis below each entry
}

// exit is where level l is left: margin below its entry, but never below
// half the entry, so a zone with very low custom thresholds can still come
// back down to normal.
func exit(bands Thresholds, l Level, margin float64) float64 {
	e := bands.Entry(l)
	return max(e-margin, e/2)
}

// step observes one value and updates the displayed and the dwelled level.
func (t *levelTrack) step(in trackInput, r Rules) {
	for l := Watch; l <= Emergency; l++ {
		if in.smoothed >= in.bands.Entry(l) {
			if t.above[l].IsZero() {
				t.above[l] = in.at
			}
		} else {
			t.above[l] = time.Time{}
		}
		if in.smoothed < exit(in.bands, l, in.margin) {
			if t.below[l].IsZero() {
				t.below[l] = in.at
			}
		} else {
			t.below[l] = time.Time{}
		}
	}
	if in.raw >= in.bands.Emergency {
		if t.emergencyRun == 0 {
			t.emergencySince = in.at
		}
		t.emergencyRun++
	} else {
		t.emergencyRun = 0
	}
	if now := t.now(in, r); now > t.level {
		t.level, t.raised = now, in.at
	} else {
		t.level = t.downTo(in.at, r)
	}
	// The dwelled level never exceeds the displayed one (a dwelled level's
	// entry is held right now, so the display is at least there), and it
	// comes down only when the display does.
	next := min(max(t.alert, t.dwelled(in.at, r)), t.level)
	t.entered = next == Emergency && t.alert < Emergency
	if next != t.alert {
		t.changed, t.fell = in.at, next < t.alert
		t.alert = next
	}
}

// settled reports whether the dwelled level is worth a new alert: reached on
// the way up (after its dwell), or held for d on the way down. Levels pass
// one by one on the way down (the median crosses each exit a reading apart),
// and a zone passing through warning for a second must not raise a warning
// alert.
func (t *levelTrack) settled(at time.Time, d time.Duration) bool {
	return !t.fell || at.Sub(t.changed) >= d
}

// now is the level the reading itself classifies as: the smoothed value's
// band, or emergency after enough consecutive raw readings in its band (a
// median over the window would delay an emergency by half the window).
func (t *levelTrack) now(in trackInput, r Rules) Level {
	if t.rawEmergency(in.at, r) {
		return Emergency
	}
	return in.bands.Classify(in.smoothed)
}

// rawEmergency is DOMAIN.md's emergency dwell on raw values: at least
// EmergencyReadings consecutive readings at or above the threshold,
// spanning at least EmergencyDwell from the first to the latest. A median
// over the window would delay an emergency by half the window; one reading,
// or a burst of them in one instant, is never enough.
func (t *levelTrack) rawEmergency(at time.Time, r Rules) bool {
	return t.emergencyRun >= max(r.EmergencyReadings, 1) && at.Sub(t.emergencySince) >= r.EmergencyDwell
}

// dwelled is the highest level whose entry condition has held long enough
// to alert on: its dwell at or above its entry, or, for emergency, the
// consecutive raw readings.
func (t *levelTrack) dwelled(at time.Time, r Rules) Level {
	if t.rawEmergency(at, r) {
		return Emergency
	}
	for l := Emergency; l > Normal; l-- {
		if !t.above[l].IsZero() && at.Sub(t.above[l]) >= r.dwell(l) {
			return l
		}
	}
	return Normal
}

// downTo is the highest displayed level at or below the current one that
// has not been released: a level is released once the smoothed value has
// stayed below its exit for the hold (counted from the last rise at the
// earliest). Being below a level's exit implies being below every higher
// exit, so releases run from the top down without gaps.
func (t *levelTrack) downTo(at time.Time, r Rules) Level {
	l := t.level
	for l > Normal && !t.below[l].IsZero() && at.Sub(later(t.below[l], t.raised)) >= r.HysteresisHold {
		l--
	}
	return l
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// restore puts the track back at a level a restarted engine read from the
// store (an open alert's): dwelled and displayed, so the zone comes down
// through the hold instead of clearing on the first quiet reading.
func (t *levelTrack) restore(l Level) {
	t.alert = max(t.alert, l)
	t.level = max(t.level, l)
}
