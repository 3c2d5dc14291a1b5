package sim

import (
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/venue"
)

// TestGatesCountCrossings: the demo's gates report their doors' crossings,
// not densities; over irregular ticks (as a busy engine's are) the
// crossings add up exactly to the gate's head count, in and out are both
// seen, and each door's report is later than its last (none is refused as
// a resend). A gate's first report and each cycle's first are a count from
// door-1, which corrects the balance.
func TestGatesCountCrossings(t *testing.T) {
	s := New(venue.Demo(), Options{Seed: 3, Start: epoch})
	gate := -1
	for i, z := range s.zones {
		if z.zone.ID == "gate-a" {
			gate = i
		}
	}
	if gate < 0 || !s.zones[gate].doors {
		t.Fatal("gate A does not count crossings")
	}
	g := newGauge(s)
	var prev time.Time
	ins, outs, counts := 0, 0, 0
	last := map[string]int64{}
	at := epoch
	for step := 0; at.Before(epoch.Add(s.cycle + 5*time.Minute)); step++ {
		at = at.Add(time.Duration(700+step%5*300) * time.Millisecond) // 0.7 s to 1.9 s
		for _, r := range s.StepFrom(prev, at) {
			if r.ZoneID != "gate-a" {
				continue
			}
			if r.Density != nil || r.SensorID == "" {
				t.Fatalf("gate A reported %+v: want a door's crossings or count", r)
			}
			if r.Crossings() {
				if *r.In < 0 || *r.Out < 0 || *r.Timestamp <= last[r.SensorID] {
					t.Fatalf("door report %s %d in %d out at %d after %d", r.SensorID, *r.In, *r.Out, *r.Timestamp, last[r.SensorID])
				}
				last[r.SensorID] = *r.Timestamp
				ins += *r.In
				outs += *r.Out
			} else {
				counts++
			}
			g.value(r)
		}
		prev = at
		if got, want := g.balance["gate-a"], s.persons(gate, at); got != want {
			t.Fatalf("at %s: the doors' balance is %d, the gate holds %d", at.Sub(epoch), got, want)
		}
	}
	if ins == 0 || outs == 0 || counts != 2 {
		t.Fatalf("%d in, %d out, %d counts over a cycle and a bit: want both ways, and a count at the start of each cycle", ins, outs, counts)
	}
	// The monitor takes them (Admit: in order, none a resend) and shows a
	// gate at its head count.
	m := crowd.NewMonitor(venue.Demo().Zones, crowd.MonitorOptions{})
	for sec := range 600 {
		now := epoch.Add(time.Duration(sec) * time.Second)
		rs, err := m.Admit(s.Step(now), crowd.AdmitOptions{Now: now, MaxClockSkew: time.Minute})
		if err != nil {
			t.Fatalf("at %ds: %v", sec, err)
		}
		for _, r := range rs {
			m.Observe(r)
		}
	}
	r, _ := m.LatestOf("gate-a")
	if want := s.persons(gate, epoch.Add(599*time.Second)); r.Counters == nil || r.Counters.Persons != want || r.Counters.InPerMin == 0 {
		t.Fatalf("gate A after ten minutes: %+v, want %d persons and a rate", r.Counters, want)
	}
}
