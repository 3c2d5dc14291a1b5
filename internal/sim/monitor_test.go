package sim

import (
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/venue"
)

// TestMonitorSeesTheDemo feeds three simulated nights through the real
// rules: the demo must raise alerts (it exists to show them), reach
// critical now and then, and never put a zone into emergency by itself.
func TestMonitorSeesTheDemo(t *testing.T) {
	v := venue.Demo()
	s := New(v, Options{Seed: 5, Start: epoch})
	m := crowd.NewMonitor(v.Zones, crowd.MonitorOptions{Rules: crowd.DefaultRules()})
	area := map[string]float64{}
	for _, z := range v.Zones {
		area[z.ID] = z.AreaM2
	}
	highest := map[crowd.AlertKind]crowd.Level{}
	raised := 0
	n := int(3 * s.Cycle() / time.Second)
	for sec := 0; sec < n; sec++ {
		at := epoch.Add(time.Duration(sec) * time.Second)
		for _, in := range s.Step(at) {
			r := crowd.Reading{ZoneID: in.ZoneID, SensorID: in.SensorID, Time: time.UnixMilli(*in.Timestamp), Count: in.Count}
			if in.Density != nil {
				r.Density = *in.Density
			} else {
				r.Density = float64(*in.Count) / area[in.ZoneID]
			}
			out := m.Observe(r)
			if out.Reading.Level >= crowd.Emergency {
				t.Fatalf("%s at %ds: level %v from the simulator alone", in.ZoneID, sec, out.Reading.Level)
			}
			for _, a := range out.Alerts {
				if a.Level >= crowd.Emergency {
					t.Fatalf("%s at %ds: %v alert %q", in.ZoneID, sec, a.Level, a.Message)
				}
				if a.Status == crowd.StatusActive && a.Notifications == 1 {
					raised++
				}
				highest[a.Kind] = max(highest[a.Kind], a.Level)
			}
		}
	}
	if highest[crowd.KindDensity] < crowd.Warning {
		t.Errorf("highest density alert %v, want at least warning", highest[crowd.KindDensity])
	}
	if max(highest[crowd.KindDensity], highest[crowd.KindCapacity]) < crowd.Critical {
		t.Errorf("no critical alert in three nights (highest %v)", highest)
	}
	t.Logf("%d alerts raised; highest by kind %v", raised, highest)
}
