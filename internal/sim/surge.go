package sim

import (
	"math"
	"time"
)

// A surge is a crowd pushing into one zone for a minute or two: the
// concourse at half-time, a gate at egress, the front of stage when the
// headliner comes on. Height is in severity units (one threshold band).
type surge struct {
	zone   int
	center time.Duration // into the cycle
	half   time.Duration // half the duration, ramps included
	height float64
}

// surges draws this cycle's surges from the seed. Small surges lift a zone
// about one band (watch to warning); now and then one is big enough to
// reach critical. The cap in density keeps every one out of emergency.
func (s *Simulator) surges(cycle uint64) []surge {
	// Long enough to outlast smoothing and the 10 s to 30 s dwell, short
	// enough to stay a surge in a shortened test cycle.
	half := time.Duration(math.Min(float64(75*time.Second), float64(s.cycle)/20))
	var out []surge
	add := func(kind uint64, candidates []int, phase, small, big, bigChance float64) {
		if len(candidates) == 0 {
			return
		}
		pick := candidates[int(unit(s.seed, cycle, kind, 10)*float64(len(candidates)))%len(candidates)]
		h := small
		if unit(s.seed, cycle, kind, 11) < bigChance {
			h = big
		}
		jitter := (unit(s.seed, cycle, kind, 12) - 0.5) * 0.02
		out = append(out, surge{
			zone:   pick,
			center: time.Duration((phase + jitter) * float64(s.cycle)),
			half:   half,
			height: h,
		})
	}
	add(1, s.zonesWith(roleConcourse), 0.5, 0.8, 1.6, 0.5)
	add(2, s.zonesWith(roleGate), 0.77, 0.5, 1.1, 0.4)
	add(3, s.zonesWith(roleFront), 0.62, 0.9, 1.4, 0.25)
	return out
}

func (s *Simulator) zonesWith(r role) []int {
	var idx []int
	for i, z := range s.zones {
		if z.role == r {
			idx = append(idx, i)
		}
	}
	return idx
}

// plateau is 0 outside [-half, half], 1 on the middle third, with smooth
// ramps between: a surge that builds, holds and eases.
func plateau(d, half time.Duration) float64 {
	x := math.Abs(float64(d)) / float64(half)
	switch {
	case x >= 1:
		return 0
	case x <= 1.0/3:
		return 1
	}
	u := (1 - x) * 1.5 // 0 at the edge, 1 at the plateau
	return u * u * (3 - 2*u)
}
