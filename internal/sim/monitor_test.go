package sim

import (
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/venue"
)

// TestMonitorSeesTheDemo feeds three simulated nights through the real
// rules: the demo must raise alerts (it exists to show them), reach
// critical now and then, and never put a zone into emergency by itself. Its
// cameras are fused (the fan zone counts three), and the camera that drops
// out raises a sensor alert within the first two minutes, and again now and
// then, each resolved when the camera is back; no zone ever has no data.
func TestMonitorSeesTheDemo(t *testing.T) {
	v := venue.Demo()
	s := New(v, Options{Seed: 5, Start: epoch})
	m := crowd.NewMonitor(v.Zones, crowd.MonitorOptions{Rules: crowd.DefaultRules()})
	doorReports := map[string]int{}
	highest := map[crowd.AlertKind]crowd.Level{}
	raised := 0
	dropZone, dropCam := s.DropoutSensor()
	sensorRaised, sensorResolved := map[string]int{}, map[string]int{} // alert id -> second
	sensors := map[string]int{}
	n := int(3 * s.Cycle() / time.Second)
	for sec := 0; sec < n; sec++ {
		at := epoch.Add(time.Duration(sec) * time.Second)
		var alerts []crowd.Alert
		for _, in := range s.Step(at) {
			// Through Admit, as the engine takes them: the gates' doors
			// report crossings, whose balance the monitor keeps.
			rs, err := m.Admit([]crowd.ReadingInput{in}, crowd.AdmitOptions{Now: at, MaxClockSkew: 2 * time.Minute})
			if err != nil {
				t.Fatalf("%s/%s at %ds: refused: %v", in.ZoneID, in.SensorID, sec, err)
			}
			out := m.Observe(rs[0])
			if in.Crossings() {
				doorReports[in.ZoneID]++
			}
			if out.Reading.Level >= crowd.Emergency {
				t.Fatalf("%s at %ds: level %v from the simulator alone", in.ZoneID, sec, out.Reading.Level)
			}
			if out.Reading.NoData {
				t.Fatalf("%s at %ds: no data", in.ZoneID, sec)
			}
			sensors[in.ZoneID] = max(sensors[in.ZoneID], out.Reading.Sensors)
			alerts = append(alerts, out.Alerts...)
		}
		// The engine lets time pass about once a second: silent sensors.
		p := m.Advance(at)
		for _, r := range p.Readings {
			t.Fatalf("%s at %ds: no data (every sensor silent)", r.ZoneID, sec)
		}
		alerts = append(alerts, p.Alerts...)
		for _, a := range alerts {
			if a.Level >= crowd.Emergency {
				t.Fatalf("%s at %ds: %v alert %q", a.ZoneID, sec, a.Level, a.Message)
			}
			if a.Status == crowd.StatusActive && a.Notifications == 1 {
				raised++
			}
			highest[a.Kind] = max(highest[a.Kind], a.Level)
			if a.Kind != crowd.KindSensor {
				continue
			}
			if a.ZoneID != dropZone || a.SensorID != dropCam || a.Level != crowd.Watch {
				t.Fatalf("at %ds: sensor alert %s/%s %v %q, want only %s/%s at watch", sec, a.ZoneID, a.SensorID, a.Level, a.Message, dropZone, dropCam)
			}
			if _, ok := sensorRaised[a.ID]; !ok {
				sensorRaised[a.ID] = sec
			}
			if a.Status == crowd.StatusResolved {
				sensorResolved[a.ID] = sec
			}
		}
	}
	if sensors["fan-zone"] != 3 || sensors["concourse-north"] != 2 || sensors["gate-a"] != 1 {
		t.Errorf("fused sensors (most seen): %v, want the fan zone's 3 cameras, a concourse's 2, a gate's 1 (its doors' balance)", sensors)
	}
	if doorReports["gate-a"] == 0 || doorReports["gate-b"] == 0 {
		t.Errorf("door reports %v: want the gates counted by their doors", doorReports)
	}
	if r, _ := m.LatestOf("gate-a"); r.Counters == nil || r.Counters.Doors != 2 || r.Counters.Clamped != 0 {
		t.Errorf("gate A at the end: counters %+v, want its 2 doors live and a balance that never went below zero", r.Counters)
	}
	first := n
	for id, at := range sensorRaised {
		first = min(first, at)
		if end, ok := sensorResolved[id]; ok && end-at < 20 {
			t.Errorf("sensor alert %s raised at %ds resolved at %ds: too short to be seen", id, at, end)
		}
	}
	if len(sensorRaised) < 6 {
		t.Errorf("%d sensor alerts in three nights, want one per dropout (about every 8 minutes)", len(sensorRaised))
	}
	if first > 120 {
		t.Errorf("first sensor alert at %ds, want within the first two minutes", first)
	}
	if len(sensorResolved) < len(sensorRaised)-1 {
		t.Errorf("%d of %d sensor alerts resolved: the camera came back each time", len(sensorResolved), len(sensorRaised))
	}
	t.Logf("sensor alerts of %s/%s raised at %v s, resolved at %v s", dropZone, dropCam, sensorRaised, sensorResolved)
	if highest[crowd.KindDensity] < crowd.Warning {
		t.Errorf("highest density alert %v, want at least warning", highest[crowd.KindDensity])
	}
	if max(highest[crowd.KindDensity], highest[crowd.KindCapacity]) < crowd.Critical {
		t.Errorf("no critical alert in three nights (highest %v)", highest)
	}
	t.Logf("%d alerts raised; highest by kind %v", raised, highest)
}
