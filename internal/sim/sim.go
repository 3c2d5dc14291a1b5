// Package sim simulates realistic crowd curves for the demo venue: per zone
// an arrival ramp, a peak, an egress, and a surge now and then, with noise,
// compressed so that a whole event cycle takes about 20 minutes and loops.
// Large zones are watched by several overlapping cameras, each with its own
// noise around the zone's curve, and one camera drops out now and then
// (see sensors.go), so that a demo shows sensor counts and a sensor alert.
//
// The simulation is a pure function of the seed and the time, so a test or
// a benchmark can ask for any instant with Step, and two runs with one seed
// send the same readings.
package sim

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// maxSeverity caps every zone below its emergency band (severity 4), by
// density and by occupancy, with room for rounding a count: an emergency in the demo must stay an
// operator's or a tester's action, never the simulator's.
const maxSeverity = 3.5

// Options configure a Simulator. Zero values take the defaults.
type Options struct {
	Seed     int64
	Interval time.Duration    // between batches; default 1s
	Now      func() time.Time // clock; default time.Now
	Start    time.Time        // when the first cycle begins; default Now() at New
	Cycle    time.Duration    // one event from doors open to empty; default 20m
	Logger   *slog.Logger     // sink errors are logged here; default discards
	// Rules are the engine's alert rules (zero: crowd.DefaultRules); their
	// capacity bands, with each zone's overrides, shape the safety cap.
	Rules crowd.Rules
}

// Simulator produces readings of every zone of a venue.
type Simulator struct {
	zones    []simZone
	seed     uint64
	interval time.Duration
	now      func() time.Time
	start    time.Time
	cycle    time.Duration
	log      *slog.Logger
	dropout  sensorRef // the camera that drops out now and then (zone -1: none)
}

type simZone struct {
	zone    crowd.Zone
	scale   scale
	role    role
	profile []keyframe
	// byCount zones report a head count (ticketed and counted areas);
	// the others a density, as a camera would.
	byCount bool
	// sensors is how many cameras watch the zone; with one the zone is its
	// own sensor (readings carry no sensorId).
	sensors int
	// doors: a gate, whose doors count crossings instead (doors.go).
	doors bool
}

// New builds a simulator for the zones of v.
func New(v crowd.Venue, opts Options) *Simulator {
	s := &Simulator{
		seed:     uint64(opts.Seed),
		interval: opts.Interval,
		now:      opts.Now,
		start:    opts.Start,
		cycle:    opts.Cycle,
		log:      opts.Logger,
	}
	if s.interval <= 0 {
		s.interval = time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.start.IsZero() {
		s.start = s.now()
	}
	if s.cycle <= 0 {
		s.cycle = 20 * time.Minute
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	rules := opts.Rules
	if rules == (crowd.Rules{}) {
		rules = crowd.DefaultRules()
	}
	for _, z := range v.Zones {
		z = z.WithDefaults()
		r := roleOf(z)
		s.zones = append(s.zones, simZone{
			zone:    z,
			scale:   scaleOf(z, rules.Apply(z.Rules)),
			role:    r,
			profile: profile(r),
			byCount: z.Kind == crowd.Standing && z.AreaM2 >= 100,
			sensors: sensorsFor(z),
			doors:   r == roleGate,
		})
	}
	s.dropout = dropoutSensor(s.zones)
	return s
}

// Cycle returns the length of one simulated event.
func (s *Simulator) Cycle() time.Duration { return s.cycle }

// Run sends a batch with a reading of every zone at once and then every
// Interval, until ctx ends; it then returns nil. A batch the sink rejects is
// logged and the simulation goes on: one refused batch must not silence the
// whole demo.
func (s *Simulator) Run(ctx context.Context, sink func(context.Context, []crowd.ReadingInput) error) error {
	ticker := time.NewTicker(s.interval)
	defer ticker.Stop()
	var prev time.Time // the last batch taken: the doors' crossings run from it
	for {
		t := s.now()
		if err := sink(ctx, s.StepFrom(prev, t)); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("simulator batch rejected", "err", err)
		} else {
			prev = t
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// Step returns the readings of every zone at time t, stamped with t: one
// per zone, or one per camera (in camera order, with its sensorId) for a
// zone several cameras watch, less the camera that is silent at t, and for
// a gate its doors' crossings over the interval before t (doors.go). It is
// pure: the same simulator and t always give the same readings.
func (s *Simulator) Step(t time.Time) []crowd.ReadingInput {
	return s.StepFrom(t.Add(-s.interval), t)
}

// StepFrom is Step with the gates' crossings counted from prev, the time of
// the previous batch the engine took (zero: none, the doors then report
// their gates' absolute counts). Run uses it, so that a late tick or a
// refused batch loses no crossing.
func (s *Simulator) StepFrom(prev, t time.Time) []crowd.ReadingInput {
	elapsed := t.Sub(s.start)
	if elapsed < 0 {
		elapsed = 0
	}
	cycle := uint64(elapsed / s.cycle)
	inCycle := elapsed % s.cycle
	ts := t.UnixMilli()
	surges := s.surges(cycle)
	silent := s.Silent(t)
	out := make([]crowd.ReadingInput, 0, len(s.zones)+8)
	for i, z := range s.zones {
		if z.doors {
			out = append(out, s.doorReadings(i, prev, t, &ts)...)
			continue
		}
		sev := s.severity(i, z, cycle, inCycle, surges)
		if z.sensors <= 1 {
			out = append(out, s.reading(z, "", z.scale.density(math.Min(sev, maxSeverity)), &ts))
			continue
		}
		for c := range z.sensors {
			if silent && s.dropout == (sensorRef{zone: i, sensor: c}) {
				continue
			}
			sv := sev * cameraNoise(s.seed, cycle, i, c, uint64(inCycle/time.Second))
			out = append(out, s.reading(z, sensorID(c), z.scale.density(math.Min(sv, maxSeverity)), &ts))
		}
	}
	return out
}

// reading is zone z's reading of density d by sensor id ("" the zone's own).
func (s *Simulator) reading(z simZone, id string, d float64, ts *int64) crowd.ReadingInput {
	d = math.Max(d, 0)
	in := crowd.ReadingInput{ZoneID: z.zone.ID, SensorID: id, Timestamp: ts}
	if z.byCount {
		n := int(math.Round(d * z.zone.AreaM2))
		in.Count = &n
	} else {
		d = math.Round(d*1000) / 1000
		in.Density = &d
	}
	return in
}

// severity is zone i's severity at inCycle into the given cycle, uncapped
// (the caller caps it below emergency after its cameras' own noise).
func (s *Simulator) severity(i int, z simZone, cycle uint64, inCycle time.Duration, surges []surge) float64 {
	// Each zone and cycle gets its own scale and a slight time shift, so
	// zones do not move in lockstep and no two nights are alike.
	scale := 0.9 + 0.2*unit(s.seed, cycle, uint64(i), 1)
	shift := (unit(s.seed, cycle, uint64(i), 2) - 0.5) * 0.02
	phase := float64(inCycle)/float64(s.cycle) + shift
	phase = math.Min(math.Max(phase, 0), 0.999999)
	sev := at(z.profile, phase) * scale
	for _, sg := range surges {
		if sg.zone == i {
			sev += sg.height * plateau(inCycle-sg.center, sg.half)
		}
	}
	// Noise: a slow wander (people drifting in and out of view) and a small
	// per-second jitter (detection error), relative and in severity units,
	// so that it moves a zone within its band alike on a wide density band
	// and on a narrow occupancy band.
	sec := uint64(inCycle / time.Second)
	sev *= 1 + 0.06*valueNoise(s.seed, cycle, uint64(i), sec) + 0.02*(2*unit(s.seed, cycle, uint64(i), 1000+sec)-1)
	return sev
}
