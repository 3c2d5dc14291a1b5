package sim

import (
	"math"
	"strconv"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// Gates. A gate's doors (turnstiles, light barriers) do not see the zone:
// each counts the people who cross it and reports its crossings since its
// previous report, and the engine keeps the zone's balance
// (crowd/counters.go). The simulator gives each gate doorsPerGate doors
// ("door-1", …): arrivals (the rise of the gate's head count over the
// report's interval) come through door-1, departures (its fall) leave
// through the last door, and a steady through-flow passes every door both
// ways (staff, re-entries), so that in and out are both seen. Within a
// batch the balance thus never passes beyond the head counts at either end
// of the interval, which the safety cap holds below emergency.
//
// Crossings over (prev, t] are the head count at t less the head count at
// prev (plus the through-flow), both pure functions of the seed and the
// time: reports over consecutive intervals add up exactly to the head
// count, however irregular the ticks. At the first report and at the start
// of each cycle door-1 reports the gate's absolute count instead, which the
// engine takes as a correction of the balance: a demo restarted mid-event,
// or one that ran over the venue's nightly counter reset, is back in step
// at once or within a cycle.
const (
	doorsPerGate = 2
	throughFlow  = 0.4 // persons per second through a gate, in and out alike
)

// doorID is door d's sensor id within its gate: "door-1", "door-2", …
func doorID(d int) string { return "door-" + strconv.Itoa(d+1) }

// cycleAt is the cycle t falls in (0 before the start).
func (s *Simulator) cycleAt(t time.Time) uint64 {
	return uint64(max(t.Sub(s.start), 0) / s.cycle)
}

// persons is zone i's head count at t, as its cap allows.
func (s *Simulator) persons(i int, t time.Time) int {
	elapsed := max(t.Sub(s.start), 0)
	cycle := uint64(elapsed / s.cycle)
	sev := s.severity(i, s.zones[i], cycle, elapsed%s.cycle, s.surges(cycle))
	d := math.Max(s.zones[i].scale.density(math.Min(sev, maxSeverity)), 0)
	return int(math.Round(d * s.zones[i].zone.AreaM2))
}

// through is how many persons passed a gate each way from the start to t.
func (s *Simulator) through(t time.Time) int {
	return int(max(t.Sub(s.start), 0).Seconds() * throughFlow)
}

// doorReadings are gate i's doors' reports over (prev, t], stamped ts.
func (s *Simulator) doorReadings(i int, prev, t time.Time, ts *int64) []crowd.ReadingInput {
	zone := s.zones[i].zone.ID
	now := s.persons(i, t)
	out := make([]crowd.ReadingInput, 0, doorsPerGate)
	if prev.Before(s.start) || s.cycleAt(prev) != s.cycleAt(t) {
		if prev.Before(s.start) {
			// The first report: door-1 says it is a door first, so that
			// the count it sends next corrects the balance instead of
			// making it a sensor of its own (crowd: a door's count).
			out = append(out, crowd.ReadingInput{ZoneID: zone, SensorID: doorID(0), In: new(0), Out: new(0), Timestamp: ts})
		}
		out = append(out, crowd.ReadingInput{ZoneID: zone, SensorID: doorID(0), Count: &now, Timestamp: ts})
		for d := 1; d < doorsPerGate; d++ {
			out = append(out, crowd.ReadingInput{ZoneID: zone, SensorID: doorID(d), In: new(0), Out: new(0), Timestamp: ts})
		}
		return out
	}
	delta := now - s.persons(i, prev)
	both := max(s.through(t)-s.through(prev), 0)
	for d := range doorsPerGate {
		in, gone := share(both, d), share(both, d)
		switch {
		case d == 0 && delta > 0:
			in += delta
		case d == doorsPerGate-1 && delta < 0:
			gone -= delta
		}
		out = append(out, crowd.ReadingInput{ZoneID: zone, SensorID: doorID(d), In: new(in), Out: new(gone), Timestamp: ts})
	}
	return out
}

// share is door d's part of n crossings: an even split, the remainder to
// the first doors.
func share(n, d int) int {
	v := n / doorsPerGate
	if d < n%doorsPerGate {
		v++
	}
	return v
}
