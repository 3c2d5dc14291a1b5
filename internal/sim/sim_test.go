package sim

import (
	"context"
	"errors"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/venue"
)

var epoch = time.Date(2025, 11, 27, 18, 0, 0, 0, time.UTC)

// densities runs one simulator second by second over the given number of
// cycles and returns each zone's densities, one a second: the mean of its
// cameras' readings when several watch it.
func densities(s *Simulator, cycles int) map[string][]float64 {
	out := map[string][]float64{}
	g := newGauge(s)
	n := int(s.cycle/time.Second) * cycles
	for sec := 0; sec < n; sec++ {
		sum, cnt := map[string]float64{}, map[string]int{}
		for _, r := range s.Step(epoch.Add(time.Duration(sec) * time.Second)) {
			v := g.value(r)
			if g.doors[r.ZoneID] { // the gate's balance after its last door
				sum[r.ZoneID], cnt[r.ZoneID] = v, 1
				continue
			}
			sum[r.ZoneID] += v
			cnt[r.ZoneID]++
		}
		for _, z := range s.zones {
			id := z.zone.ID
			out[id] = append(out[id], sum[id]/float64(cnt[id]))
		}
	}
	return out
}

// gauge reads readings as the engine sees its zones: a camera's density, a
// count over the area, and for a gate the balance of its doors' crossings
// (a count from a door corrects it).
type gauge struct {
	area    map[string]float64
	doors   map[string]bool
	balance map[string]int
}

func newGauge(s *Simulator) *gauge {
	g := &gauge{area: map[string]float64{}, doors: map[string]bool{}, balance: map[string]int{}}
	for _, z := range s.zones {
		g.area[z.zone.ID], g.doors[z.zone.ID] = z.zone.AreaM2, z.doors
	}
	return g
}

// value is r's density; for a door, its gate's after r.
func (g *gauge) value(r crowd.ReadingInput) float64 {
	id := r.ZoneID
	switch {
	case r.Crossings():
		g.balance[id] += *r.In - *r.Out
	case r.Count != nil && g.doors[id]:
		g.balance[id] = *r.Count
	case r.Count != nil:
		return float64(*r.Count) / g.area[id]
	default:
		return *r.Density
	}
	return float64(g.balance[id]) / g.area[id]
}

func TestBoundsNeverNegativeNeverEmergency(t *testing.T) {
	demo := venue.Demo()
	// A venue of its own with tight thresholds, to show the cap follows each
	// zone's thresholds and not the demo's numbers.
	tight := crowd.Venue{Zones: []crowd.Zone{
		{ID: "gate", Kind: crowd.Moving, AreaM2: 10, Thresholds: crowd.Thresholds{Watch: 0.5, Warning: 0.8, Critical: 1.0, Emergency: 1.2}},
		{ID: "pitch-front", Kind: crowd.Standing, AreaM2: 150, Thresholds: crowd.Thresholds{Watch: 1, Warning: 1.5, Critical: 2, Emergency: 2.2}},
		{ID: "concourse", Kind: crowd.Moving, AreaM2: 40},
	}}
	for _, v := range []crowd.Venue{demo, tight} {
		for seed := int64(1); seed <= 4; seed++ {
			s := New(v, Options{Seed: seed, Start: epoch})
			g := newGauge(s)
			zones := map[string]crowd.Zone{}
			for _, z := range s.zones {
				zones[z.zone.ID] = z.zone
			}
			// Every camera's every reading, not a zone's average: one
			// camera alone must not read an emergency either.
			n := int(s.cycle/time.Second) * 3
			for sec := 0; sec < n; sec++ {
				for _, r := range s.Step(epoch.Add(time.Duration(sec) * time.Second)) {
					id := r.ZoneID
					d := g.value(r)
					if d < 0 || math.IsNaN(d) || math.IsInf(d, 0) {
						t.Fatalf("seed %d %s/%s at %ds: density %v", seed, id, r.SensorID, sec, d)
					}
					if l := judged(zones[id], d); l >= crowd.Emergency {
						t.Fatalf("seed %d %s/%s at %ds: density %.3f is in the emergency band (%v)", seed, id, r.SensorID, sec, d, zones[id].Thresholds)
					}
				}
			}
		}
	}
}

// judged is the level the engine's default rules give a density: the worse
// of the density thresholds and occupancy against licensed capacity.
func judged(z crowd.Zone, d float64) crowd.Level {
	l := z.WithDefaults().Thresholds.Classify(d)
	if z.Capacity > 0 {
		r := crowd.DefaultRules()
		occ := crowd.Thresholds{Watch: r.CapacityWatch, Warning: r.CapacityWarning, Critical: r.CapacityCritical, Emergency: r.CapacityEmergency}
		l = max(l, occ.Classify(d*z.AreaM2/float64(z.Capacity)))
	}
	return l
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func maxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}

// window returns the samples of ds between two phases of the first cycle.
func window(ds []float64, cycle time.Duration, from, to float64) []float64 {
	n := float64(cycle / time.Second)
	return ds[int(from*n):int(to*n)]
}

func TestCycleHasArrivalPeakEgress(t *testing.T) {
	s := New(venue.Demo(), Options{Seed: 7, Start: epoch})
	ds := densities(s, 1)
	c := s.cycle

	// The bowl fills during arrival, is full during the show, and is
	// empty again once egress is done.
	for _, id := range []string{"stand-north", "pitch-rear", "pitch-front"} {
		before := mean(window(ds[id], c, 0, doorsOpen))
		arrival := mean(window(ds[id], c, 0.12, 0.2))
		show := mean(window(ds[id], c, 0.35, 0.45))
		after := mean(window(ds[id], c, 0.92, 1))
		if !(before < arrival && arrival < show) {
			t.Errorf("%s: no arrival ramp: before %.2f, arrival %.2f, show %.2f", id, before, arrival, show)
		}
		if after > show/5 {
			t.Errorf("%s: no egress: show %.2f, after %.2f", id, show, after)
		}
	}
	// The routes to the station carry their peak at egress, well above
	// their arrival hump and far above the quiet show.
	for _, id := range []string{"gate-a", "ramp-west", "stairs-station"} {
		arrival := maxOf(window(ds[id], c, doorsOpen, showStart))
		show := mean(window(ds[id], c, 0.35, 0.45))
		egress := maxOf(window(ds[id], c, showEnd, egressDone))
		if !(egress > arrival && arrival > 3*show) {
			t.Errorf("%s: arrival %.2f, show %.2f, egress %.2f: want egress > arrival > 3 × show", id, arrival, show, egress)
		}
	}
	// The concourses fill at half-time.
	for _, id := range []string{"concourse-north", "concourse-south"} {
		half := mean(window(ds[id], c, 0.485, 0.515))
		show := mean(window(ds[id], c, 0.35, 0.45))
		if half < 3*show {
			t.Errorf("%s: half-time %.2f not well above the show %.2f", id, half, show)
		}
	}
}

func TestLevelsReached(t *testing.T) {
	v := venue.Demo()
	s := New(v, Options{Seed: 3, Start: epoch})
	zones := map[string]crowd.Zone{}
	for _, z := range v.Zones {
		zones[z.ID] = z
	}
	const cycles = 8
	ds := densities(s, cycles)
	n := len(ds["gate-a"]) / cycles
	critical := 0
	for c := 0; c < cycles; c++ {
		movingWarning := false
		for id, all := range ds {
			z := zones[id]
			// Held for 30 s, as the dwell before raising demands.
			held := crowd.Normal
			run := map[crowd.Level]int{}
			for _, d := range all[c*n : (c+1)*n] {
				l := judged(z, d)
				for _, k := range crowd.Levels {
					if k <= l {
						run[k]++
						if run[k] >= 30 && k > held {
							held = k
						}
					} else {
						run[k] = 0
					}
				}
			}
			if z.Kind == crowd.Moving && held >= crowd.Warning {
				movingWarning = true
			}
			if held >= crowd.Critical {
				critical++
			}
		}
		if !movingWarning {
			t.Errorf("cycle %d: no moving zone held warning for 30 s", c)
		}
	}
	// A surge now and then, not all the time.
	if critical == 0 || critical > cycles*2 {
		t.Errorf("%d zone-cycles held critical over %d cycles, want now and then", critical, cycles)
	}
}

func TestDeterministic(t *testing.T) {
	v := venue.Demo()
	a := New(v, Options{Seed: 42, Start: epoch})
	b := New(v, Options{Seed: 42, Start: epoch})
	other := New(v, Options{Seed: 43, Start: epoch})
	differs := false
	// Out of order on purpose: Step is a function of t alone.
	for _, sec := range []int{900, 3, 610, 1199, 2400, 0, 1500} {
		at := epoch.Add(time.Duration(sec) * time.Second)
		ra, rb := a.Step(at), b.Step(at)
		if !reflect.DeepEqual(ra, rb) {
			t.Fatalf("same seed, different readings at %ds", sec)
		}
		if !reflect.DeepEqual(ra, a.Step(at)) {
			t.Fatalf("Step not repeatable at %ds", sec)
		}
		if !reflect.DeepEqual(ra, other.Step(at)) {
			differs = true
		}
	}
	if !differs {
		t.Error("another seed gives the same readings")
	}
}

func TestStepReadings(t *testing.T) {
	v := venue.Demo()
	s := New(v, Options{Seed: 1, Start: epoch})
	at := epoch.Add(7*time.Minute + 250*time.Millisecond)
	if s.Silent(at) {
		t.Fatal("the dropout camera is silent at 7 min: pick another instant")
	}
	batch := s.Step(at)
	// One reading per camera, zone by zone in venue order: cam-1, cam-2, …
	// for a zone several cameras watch, no sensorId for the others, and
	// door-1, door-2 for a gate.
	var want []string
	for _, z := range s.zones {
		if z.doors {
			for d := range doorsPerGate {
				want = append(want, z.zone.ID+"/"+doorID(d))
			}
			continue
		}
		if z.sensors == 1 {
			want = append(want, z.zone.ID)
			continue
		}
		for c := range z.sensors {
			want = append(want, z.zone.ID+"/"+sensorID(c))
		}
	}
	var got []string
	for _, r := range batch {
		if r.SensorID == "" {
			got = append(got, r.ZoneID)
		} else {
			got = append(got, r.ZoneID+"/"+r.SensorID)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("batch readings\n got %v\nwant %v", got, want)
	}
	if len(batch) <= len(v.Zones) {
		t.Errorf("batch has %d readings for %d zones: no zone has several cameras", len(batch), len(v.Zones))
	}
	counts := 0
	for _, r := range batch {
		if r.Crossings() {
			continue // TestGatesCountCrossings
		}
		if (r.Density == nil) == (r.Count == nil) {
			t.Errorf("%s: want exactly one of density and count", r.ZoneID)
		}
		if r.Count != nil {
			counts++
		}
		if r.Timestamp == nil || *r.Timestamp != at.UnixMilli() {
			t.Errorf("%s: timestamp %v, want %d", r.ZoneID, r.Timestamp, at.UnixMilli())
		}
	}
	if counts == 0 || counts == len(batch) {
		t.Errorf("%d of %d readings are counts, want a mix of counts and densities", counts, len(batch))
	}
	// Before the start the venue is closed, not an error.
	g := newGauge(s)
	for _, r := range s.Step(epoch.Add(-time.Hour)) {
		if d := g.value(r); d > 0.5 {
			t.Errorf("%s before the start: %v", r.ZoneID, d)
		}
	}
}

// fakeClock is the one fake the tests use: time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func TestRun(t *testing.T) {
	v := venue.Demo()
	clock := &fakeClock{t: epoch}
	s := New(v, Options{Seed: 1, Interval: 5 * time.Millisecond, Now: clock.Now})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var batches [][]crowd.ReadingInput
	calls := 0
	sink := func(_ context.Context, b []crowd.ReadingInput) error {
		calls++
		if calls == 2 {
			return errors.New("rejected") // must not stop the simulation
		}
		batches = append(batches, b)
		if len(batches) == 4 {
			cancel()
		}
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, sink) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil when the context ends", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
	if len(batches) != 4 {
		t.Fatalf("got %d batches, want 4", len(batches))
	}
	var last int64
	for i, b := range batches {
		if len(b) < len(v.Zones) {
			t.Errorf("batch %d has %d readings, want at least one per zone (%d)", i, len(b), len(v.Zones))
		}
		ts := *b[0].Timestamp
		if ts <= last {
			t.Errorf("batch %d timestamp %d not after %d", i, ts, last)
		}
		// The clock ticks one second per call; the start took the first.
		if want := epoch.Add(time.Duration(i+2+boolInt(i >= 1)) * time.Second).UnixMilli(); ts != want {
			t.Errorf("batch %d timestamp %d, want %d (from the injected clock)", i, ts, want)
		}
		last = ts
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func BenchmarkStep(b *testing.B) {
	s := New(venue.Demo(), Options{Seed: 1, Start: epoch})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Step(epoch.Add(time.Duration(i%2400) * time.Second))
	}
}

// TestCapHoldsUnderAnyProfile drives a zone's curve far past emergency, as a
// badly tuned profile or a surge on top of a peak would, and checks the cap.
func TestCapHoldsUnderAnyProfile(t *testing.T) {
	v := crowd.Venue{Zones: []crowd.Zone{
		{ID: "gate", Kind: crowd.Moving, AreaM2: 5},
		{ID: "floor", Kind: crowd.Standing, AreaM2: 400},
		{ID: "licensed", Kind: crowd.Standing, AreaM2: 400, Capacity: 300},
	}}
	s := New(v, Options{Seed: 9, Start: epoch})
	zones := map[string]crowd.Zone{}
	for i := range s.zones {
		s.zones[i].profile = []keyframe{{0, 9}, {1, 9}}
		zones[s.zones[i].zone.ID] = s.zones[i].zone
	}
	g := newGauge(s)
	for sec := 0; sec < 1200; sec++ {
		final := map[string]float64{} // a gate's balance after its last door
		for _, r := range s.Step(epoch.Add(time.Duration(sec) * time.Second)) {
			final[r.ZoneID] = g.value(r)
		}
		for id, d := range final {
			z := zones[id]
			if l := judged(z, d); l != crowd.Critical {
				t.Fatalf("%s at %ds: level %v, want critical at most (and reached)", z.ID, sec, l)
			}
		}
	}
}
