package sim

import (
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// The event timeline, as fractions of a cycle. A three-hour concert night is
// compressed into one cycle (20 minutes by default) so that a demo shows
// arrival, the show, half-time and egress within a coffee break.
const (
	doorsOpen     = 0.05
	showStart     = 0.30
	halfTimeStart = 0.47
	halfTimeEnd   = 0.53
	showEnd       = 0.72
	egressDone    = 0.90
)

// A profile gives a zone's severity over the cycle. Severity is a position
// on the zone's own threshold scale: 1 is the watch threshold, 2 warning,
// 3 critical, 4 emergency; between them density is interpolated. Profiles
// in severity units fit any venue's thresholds, not just the demo's.
type keyframe struct{ phase, severity float64 }

type role int

const (
	roleStand role = iota
	rolePitch
	roleFront
	roleConcourse
	roleGate
	roleRoute
	roleStairs
	rolePlatform
	roleFan
)

// profiles are hand-shaped after the way each kind of area fills and
// empties: the routes to the station peak at egress, the concourses at
// half-time, the fan zone before the show, the bowl during it. It is a
// function, not a package variable, so no caller can change the table.
func profile(r role) []keyframe {
	return map[role][]keyframe{
		roleStand: {{0, 0}, {doorsOpen, 0.02}, {showStart, 0.65}, {0.4, 0.7}, {halfTimeStart, 0.7},
			{0.5, 0.5}, {halfTimeEnd, 0.68}, {showEnd, 0.7}, {0.8, 0.15}, {egressDone, 0.01}, {1, 0}},
		rolePitch: {{0, 0}, {doorsOpen, 0.02}, {showStart, 0.8}, {0.4, 0.9}, {halfTimeStart, 0.85},
			{0.5, 0.6}, {halfTimeEnd, 0.85}, {0.65, 0.95}, {showEnd, 0.9}, {0.8, 0.15}, {egressDone, 0.01}, {1, 0}},
		roleFront: {{0, 0}, {doorsOpen, 0.05}, {0.2, 0.9}, {showStart, 1.4}, {0.4, 1.6}, {halfTimeStart, 1.5},
			{0.5, 1.2}, {halfTimeEnd, 1.5}, {0.65, 1.8}, {showEnd, 1.7}, {0.78, 0.2}, {egressDone, 0.01}, {1, 0}},
		roleConcourse: {{0, 0.02}, {doorsOpen, 0.1}, {0.15, 0.8}, {0.27, 0.7}, {showStart + 0.02, 0.3},
			{halfTimeStart - 0.01, 0.35}, {0.49, 1.6}, {halfTimeEnd - 0.005, 1.5}, {halfTimeEnd + 0.02, 0.35},
			{showEnd, 0.4}, {0.75, 1.3}, {0.82, 0.9}, {egressDone, 0.1}, {1, 0.02}},
		roleGate: {{0, 0.01}, {doorsOpen, 0.2}, {0.12, 1.3}, {0.25, 1.2}, {showStart + 0.02, 0.2},
			{showEnd, 0.1}, {0.75, 2.2}, {0.8, 2.0}, {0.86, 0.6}, {egressDone, 0.1}, {1, 0.01}},
		roleRoute: {{0, 0.02}, {doorsOpen, 0.2}, {0.12, 0.9}, {0.25, 0.8}, {showStart + 0.02, 0.1},
			{showEnd + 0.01, 0.1}, {0.77, 1.7}, {0.83, 1.5}, {egressDone, 0.2}, {1, 0.02}},
		roleStairs: {{0, 0.02}, {doorsOpen, 0.3}, {0.1, 1.0}, {0.24, 0.9}, {showStart + 0.02, 0.1},
			{showEnd + 0.02, 0.1}, {0.78, 2.1}, {0.85, 1.8}, {egressDone, 0.3}, {1, 0.02}},
		rolePlatform: {{0, 0.05}, {doorsOpen, 0.3}, {0.1, 0.6}, {0.24, 0.5}, {showStart + 0.02, 0.05},
			{showEnd + 0.03, 0.1}, {0.8, 1.2}, {0.86, 1.1}, {0.93, 0.3}, {1, 0.05}},
		roleFan: {{0, 0.1}, {doorsOpen, 0.3}, {0.2, 0.8}, {0.28, 0.85}, {showStart + 0.03, 0.2},
			{showEnd, 0.15}, {0.78, 0.55}, {egressDone, 0.25}, {1, 0.1}},
	}[r]
}

// at interpolates a profile linearly at phase p in [0, 1).
func at(kf []keyframe, p float64) float64 {
	for i := 1; i < len(kf); i++ {
		if p <= kf[i].phase {
			a, b := kf[i-1], kf[i]
			return a.severity + (b.severity-a.severity)*(p-a.phase)/(b.phase-a.phase)
		}
	}
	return kf[len(kf)-1].severity
}

// roleOf guesses what part of a venue a zone is from its id and name, so
// that a venue file needs no simulator-only fields. The order matters:
// "Pitch – rear standing" is a pitch, not a stand.
func roleOf(z crowd.Zone) role {
	s := strings.ToLower(z.ID + " " + z.Name)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(s, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("fan"):
		return roleFan
	case has("platform"):
		return rolePlatform
	case has("stair", "escalator"):
		return roleStairs
	case has("gate", "entrance", "turnstile"):
		return roleGate
	case has("ramp", "bridge", "walkway", "corridor", "tunnel", "exit"):
		return roleRoute
	case has("concourse", "foyer", "hall"):
		return roleConcourse
	case has("front", "stage"):
		return roleFront
	case has("pitch", "floor", "arena"):
		return rolePitch
	case has("stand", "terrace", "seat", "tribune"):
		return roleStand
	case z.Kind == crowd.Moving:
		return roleConcourse
	}
	return roleStand
}

// scale is a zone's severity scale: the density at which each level
// begins (index 1 watch … 4 emergency; 0 is empty). A zone with a licensed
// capacity is judged on occupancy too, whichever trips first, so each step
// is the lower of the density threshold and the occupancy threshold turned
// into a density. Severity then means the level the engine will see.
type scale [5]float64

func scaleOf(z crowd.Zone, r crowd.Rules) scale {
	s := scale{0, z.Thresholds.Watch, z.Thresholds.Warning, z.Thresholds.Critical, z.Thresholds.Emergency}
	if z.Capacity > 0 && z.AreaM2 > 0 {
		perM2 := float64(z.Capacity) / z.AreaM2
		occ := [...]float64{0, r.CapacityWatch, r.CapacityWarning, r.CapacityCritical, r.CapacityEmergency}
		for i := 1; i < len(s); i++ {
			if occ[i] > 0 {
				s[i] = min(s[i], occ[i]*perM2)
			}
		}
	}
	return s
}

// density maps a severity to a density on the zone's scale.
func (s scale) density(severity float64) float64 {
	if severity <= 0 {
		return 0
	}
	i := int(severity)
	if i >= 4 {
		return s[4]
	}
	return s[i] + (s[i+1]-s[i])*(severity-float64(i))
}
