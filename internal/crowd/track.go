package crowd

import "time"

// levelTrack judges one measure of a zone (density, or occupancy against
// capacity) with dwell on the way up and hysteresis on the way down. It
// remembers, per level, since when the smoothed value has been continuously
// at or above the level's entry and since when continuously below its exit;
// a gap in the readings does not reset these, because the engine cannot tell
// a quiet sensor from an unchanged crowd.
type levelTrack struct {
	level Level
	above [Emergency + 1]time.Time // zero: not at/above entry now
	below [Emergency + 1]time.Time // zero: not below exit now
	// emergencyRun counts consecutive raw values at/above the emergency entry.
	emergencyRun int
	// changed is when the level last changed, fell whether that was down.
	changed time.Time
	fell    bool
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

// step observes one value and returns the track's level after it.
func (t *levelTrack) step(in trackInput, r Rules) Level {
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
		t.emergencyRun++
	} else {
		t.emergencyRun = 0
	}
	next := t.upTo(in.at, r)
	if next <= t.level {
		next = t.downTo(in.at, r)
	}
	if next != t.level {
		t.changed, t.fell = in.at, next < t.level
		t.level = next
	}
	return t.level
}

// settled reports whether the level is worth a new alert: reached on the way
// up (after its dwell), or held for d on the way down. Levels pass one by one
// on the way down (the median crosses each exit a reading apart), and a zone
// passing through warning for a second must not raise a warning alert.
func (t *levelTrack) settled(at time.Time, d time.Duration) bool {
	return !t.fell || at.Sub(t.changed) >= d
}

// upTo is the highest level whose entry condition has held long enough.
func (t *levelTrack) upTo(at time.Time, r Rules) Level {
	if t.emergencyRun >= max(r.EmergencyReadings, 1) {
		return Emergency
	}
	for l := Emergency; l > Normal; l-- {
		if !t.above[l].IsZero() && at.Sub(t.above[l]) >= r.dwell(l) {
			return l
		}
	}
	return Normal
}

// downTo is the highest level at or below the current one that has not been
// released: a level is released once the smoothed value has stayed below its
// exit for the hold time. Being below a level's exit implies being below
// every higher exit, so releases run from the top down without gaps.
func (t *levelTrack) downTo(at time.Time, r Rules) Level {
	l := t.level
	for l > Normal && !t.below[l].IsZero() && at.Sub(t.below[l]) >= r.HysteresisHold {
		l--
	}
	return l
}
