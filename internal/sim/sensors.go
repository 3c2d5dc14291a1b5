package sim

import (
	"math"
	"strconv"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// Cameras. A real venue watches a large zone with several overlapping
// cameras, each of which estimates the whole zone's crowd with its own error.
// The simulator gives a zone one camera per cameraArea m² (at least one, at
// most maxCameras): in the demo venue the fan zone and the rear pitch get
// three, the front of stage, the concourses and the north and south stands
// two, every other zone one, which is then the zone itself (no sensorId).
const (
	cameraArea = 1500.0
	maxCameras = 3
)

// The dropout: one camera (the last one of the largest zone with several)
// goes silent for dropoutFor, first dropoutFirst after the start and then
// about every dropoutEvery (each later one moved by up to ±dropoutJitter,
// drawn from the seed). dropoutFor is longer than the engine's default
// sensor timeout (60 s), so a new user sees a sensor alert within the first
// two minutes and sees it resolve when the camera comes back.
const (
	dropoutFirst  = 40 * time.Second
	dropoutEvery  = 8 * time.Minute
	dropoutFor    = 90 * time.Second
	dropoutJitter = 30 * time.Second
)

// sensorRef names one camera: zone index and camera index.
type sensorRef struct{ zone, sensor int }

func sensorsFor(z crowd.Zone) int {
	return int(min(max(math.Round(z.AreaM2/cameraArea), 1), maxCameras))
}

// sensorID is camera c's id within its zone: "cam-1", "cam-2", …
func sensorID(c int) string { return "cam-" + strconv.Itoa(c+1) }

// dropoutSensor picks the camera that drops out: the last camera of the
// largest zone with several (the first such zone on a tie); zone -1 when
// no zone has several cameras.
func dropoutSensor(zones []simZone) sensorRef {
	ref := sensorRef{zone: -1}
	best := 0.0
	for i, z := range zones {
		if z.sensors > 1 && z.zone.AreaM2 > best {
			ref, best = sensorRef{zone: i, sensor: z.sensors - 1}, z.zone.AreaM2
		}
	}
	return ref
}

// DropoutSensor returns the zone and sensor id of the camera that drops out
// now and then ("", "" when the venue has no zone with several cameras).
func (s *Simulator) DropoutSensor() (zoneID, sensor string) {
	if s.dropout.zone < 0 {
		return "", ""
	}
	return s.zones[s.dropout.zone].zone.ID, sensorID(s.dropout.sensor)
}

// dropoutStart is when the k-th dropout begins, after the start.
func (s *Simulator) dropoutStart(k uint64) time.Duration {
	at := dropoutFirst + time.Duration(k)*dropoutEvery
	if k > 0 {
		at += time.Duration((2*unit(s.seed, k, 1<<48, 20) - 1) * float64(dropoutJitter))
	}
	return at
}

// Silent reports whether the dropout camera is silent at t. Like Step, it
// is a pure function of the seed and t.
func (s *Simulator) Silent(t time.Time) bool {
	if s.dropout.zone < 0 {
		return false
	}
	elapsed := t.Sub(s.start)
	if elapsed < dropoutFirst {
		return false
	}
	// The nominal slot of t and the next one (which may begin up to the
	// jitter early); the one before has ended (jitter + duration < period).
	k := uint64((elapsed - dropoutFirst) / dropoutEvery)
	for _, j := range []uint64{k, k + 1} {
		if from := s.dropoutStart(j); elapsed >= from && elapsed < from+dropoutFor {
			return true
		}
	}
	return false
}

// cameraNoise is camera c of zone i's own error at second sec, as a factor
// on the zone's severity: a bias of a few per cent for the night (where it
// hangs, what it sees), a slow wander and a per-second jitter, all keyed
// apart from the zone's own noise.
func cameraNoise(seed, cycle uint64, i, c int, sec uint64) float64 {
	key := uint64(i) | uint64(c+1)<<40
	bias := 0.04 * (2*unit(seed, cycle, key, 3) - 1)
	return 1 + bias + 0.04*valueNoise(seed, cycle, key, sec) + 0.02*(2*unit(seed, cycle, key, 1000+sec)-1)
}
