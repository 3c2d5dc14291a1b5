package crowd

import "time"

// sustained tracks a yes/no condition over reading time, so that the early-
// warning rules raise only on a condition that has held for a while and clear
// only once it has been gone for a while (their own dwell and hysteresis).
type sustained struct {
	on, off time.Time // since when continuously true / false; zero if not
}

func (s *sustained) observe(at time.Time, cond bool) {
	if cond {
		s.off = time.Time{}
		if s.on.IsZero() {
			s.on = at
		}
		return
	}
	s.on = time.Time{}
	if s.off.IsZero() {
		s.off = at
	}
}

// heldOn reports whether the condition has been true for at least d.
func (s sustained) heldOn(at time.Time, d time.Duration) bool {
	return !s.on.IsZero() && at.Sub(s.on) >= d
}

// heldOff reports whether the condition has been false for at least d.
func (s sustained) heldOff(at time.Time, d time.Duration) bool {
	return !s.off.IsZero() && at.Sub(s.off) >= d
}
