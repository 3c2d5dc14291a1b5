package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
)

// Issue 11 through the engine: emergency mode only from a dwelled emergency,
// an operator's end that holds, silent sensors, test alerts that close.

func TestOneReadingSwitchesNothingOn(t *testing.T) {
	f := newFixture(t)
	f.feed(t, "ramp", 4.5, 1) // a fresh moving zone, 4.5 p/m²: above its emergency level
	f.feed(t, "ramp", 0.3, 1)
	if m := f.eng.Emergency(); m != nil {
		t.Fatalf("one reading switched emergency mode on: %+v", m)
	}
	if n := len(f.pub.ofType(event.TypeAlert)); n != 0 {
		t.Fatalf("one reading raised %d alerts", n)
	}
	d := f.pub.ofType(event.TypeDensity)
	if d[0]["outlier"] != true || d[0]["level"] != "normal" {
		t.Fatalf("the spike as the streams show it: %v", d[0])
	}
}

func TestOperatorsEndOfEmergencyHolds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.feed(t, "ramp", 0.5, 10)
	f.feed(t, "ramp", 4.5, 3) // spanning 2 s: an emergency
	if m := f.eng.Emergency(); m == nil || m.ActivatedBy != "engine" || m.ZoneIDs[0] != "ramp" {
		t.Fatalf("emergency %+v", m)
	}
	if err := f.eng.EndEmergency(ctx, "op1"); err != nil {
		t.Fatal(err)
	}
	// Still above, then a quiet reading held by the hysteresis, then above
	// again for less than the hold: the operator's decision holds.
	f.feed(t, "ramp", 4.5, 20)
	f.feed(t, "ramp", 0.3, 1)
	f.feed(t, "ramp", 4.5, 5)
	f.feed(t, "ramp", 0.3, 60)
	f.feed(t, "ramp", 4.5, 5)
	if m := f.eng.Emergency(); m != nil {
		t.Fatalf("the engine overrode the operator's end: %+v", m)
	}
	// Another zone reaching emergency is a new emergency.
	f.feed(t, "hall", 7, 3)
	m := f.eng.Emergency()
	if m == nil || len(m.ZoneIDs) != 1 || m.ZoneIDs[0] != "hall" {
		t.Fatalf("a zone not in the ended emergency: %+v", m)
	}
	if !strings.Contains(lastIncident(t, f, crowd.IncidentEmergency), "which was not in the emergency op1 ended") {
		t.Fatalf("incident %q", lastIncident(t, f, crowd.IncidentEmergency))
	}
	if err := f.eng.EndEmergency(ctx, "op2"); err != nil {
		t.Fatal(err)
	}
	// The ramp falls below its emergency level (its exit, for the 120 s
	// hold) and passes the dwell again: a new emergency, and the log says so.
	f.feed(t, "ramp", 0.3, 200)
	f.feed(t, "hall", 1, 1)
	if m := f.eng.Emergency(); m != nil {
		t.Fatalf("came back without a new emergency: %+v", m)
	}
	f.feed(t, "ramp", 4.5, 3)
	if m := f.eng.Emergency(); m == nil || m.ZoneIDs[0] != "ramp" || m.ActivatedBy != "engine" {
		t.Fatalf("a fresh dwell did not bring it back: %+v", m)
	}
	if got := lastIncident(t, f, crowd.IncidentEmergency); !strings.Contains(got, "activated again") {
		t.Fatalf("incident %q", got)
	}
}

func lastIncident(t *testing.T, f *fixture, kind crowd.IncidentKind) string {
	t.Helper()
	inc, err := f.eng.Incidents(context.Background(), store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var last crowd.Incident
	for _, i := range inc {
		if i.Kind == kind && i.Seq > last.Seq {
			last = i
		}
	}
	return last.Message
}

func TestSilentSensorIsAnAlertAndTheZoneHasNoData(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	post := func(sensor string, d float64) {
		t.Helper()
		if _, err := f.eng.Ingest(ctx, []crowd.ReadingInput{{ZoneID: "hall", SensorID: sensor, Density: f64(d)}}); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		f.clock.add(time.Second)
		post("cam-1", 1)
		post("cam-2", 1.2)
	}
	for range 65 {
		f.clock.add(time.Second)
		post("cam-2", 1.2)
		f.eng.tick(ctx)
	}
	open, _ := f.eng.Alerts(ctx, store.AlertFilter{Open: true})
	if len(open) != 1 || open[0].Kind != crowd.KindSensor || open[0].SensorID != "cam-1" {
		t.Fatalf("open alerts in the store: %+v", open)
	}
	f.clock.add(time.Second)
	out, err := f.eng.Ingest(ctx, []crowd.ReadingInput{{ZoneID: "hall", SensorID: "cam-1", Density: f64(1)}})
	if err != nil || out[0].Sensors != 2 {
		t.Fatalf("cam-1 back: %v %+v", err, out)
	}
	if open, _ := f.eng.Alerts(ctx, store.AlertFilter{Open: true}); len(open) != 0 {
		t.Fatalf("sensor alert not resolved: %+v", open)
	}
	for range 61 {
		f.clock.add(time.Second)
		f.eng.tick(ctx)
	}
	d := f.pub.ofType(event.TypeDensity)
	last := d[len(d)-1]
	if last["noData"] != true || last["sensors"] != float64(0) {
		t.Fatalf("no data on the stream: %v", last)
	}
	if got := f.eng.Latest(); len(got) != 1 || !got[0].NoData {
		t.Fatalf("polling API: %+v", got)
	}
}

func TestTestAlertsResolveAfterAMinute(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a, err := f.eng.TestAlert(ctx, "hall", crowd.Watch, "drill", "admin")
	if err != nil {
		t.Fatal(err)
	}
	for range 60 {
		f.clock.add(time.Second)
		f.eng.tick(ctx)
	}
	got, err := f.store.Alert(ctx, a.ID)
	if err != nil || got.Status != crowd.StatusResolved {
		t.Fatalf("test alert after a minute: %v %+v", err, got)
	}
	if n := len(f.eng.StateEvents()); n != 1 { // the emergency state alone
		t.Fatalf("state events %d", n)
	}
}

// TestTestingHoldOutvotesSensorsAndEnds: a mock violation holds the zone over
// its real sensors, and when it ends they decide again at once.
func TestTestingHoldOutvotesSensorsAndEnds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.feed(t, "ramp", 0.5, 5)
	if _, _, err := f.eng.TriggerViolation(ctx, "ramp", crowd.Warning, "admin"); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		f.clock.add(time.Second)
		ts := f.clock.now().UnixMilli()
		if _, err := f.eng.Ingest(ctx, []crowd.ReadingInput{{ZoneID: "ramp", Density: f64(0.5), Timestamp: &ts}}); err != nil {
			t.Fatal(err)
		}
		f.eng.tick(ctx)
	}
	alerts := f.pub.ofType(event.TypeAlert)
	if len(alerts) == 0 || alerts[len(alerts)-1]["level"] != "warning" {
		t.Fatalf("the hold raised %v", alerts)
	}
	f.clock.add(violationHold)
	f.eng.tick(ctx)
	f.feed(t, "ramp", 0.5, 1)
	if got, _ := f.eng.monitor.LatestOf("ramp"); got.Density != 0.5 || got.Sensors != 1 {
		t.Fatalf("after the hold: %+v", got)
	}
}

// TestSilentSensorIsNoticedAcrossARestart: the store keeps the sensors the
// engine heard from, so a sensor that never reports again after a restart
// still raises its alert after the timeout.
func TestSilentSensorIsNoticedAcrossARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crowdrisk.db")
	c := &clock{t: t0}
	s1, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f := open(t, path, c, s1)
	for range 3 {
		c.add(time.Second)
		if _, err := f.eng.Ingest(ctx, []crowd.ReadingInput{{ZoneID: "hall", SensorID: "door-1", Density: f64(1)}}); err != nil {
			t.Fatal(err)
		}
		f.eng.tick(ctx)
	}
	s1.Close()

	g := open(t, path, c, nil) // the engine restarts; door-1 never reports again
	for range 61 {
		c.add(time.Second)
		g.eng.tick(ctx)
	}
	stillOpen, err := g.eng.Alerts(ctx, store.AlertFilter{Open: true})
	if err != nil || len(stillOpen) != 1 || stillOpen[0].Kind != crowd.KindSensor || stillOpen[0].SensorID != "door-1" {
		t.Fatalf("after a restart and a minute of silence: %v %+v", err, stillOpen)
	}
	// It reports again: the alert resolves, and the sensor is fused again.
	c.add(time.Second)
	out, err := g.eng.Ingest(ctx, []crowd.ReadingInput{{ZoneID: "hall", SensorID: "door-1", Density: f64(1.5)}})
	if err != nil || out[0].Sensors != 1 || out[0].Density != 1.5 {
		t.Fatalf("door-1 back: %v %+v", err, out)
	}
	if left, _ := g.eng.Alerts(ctx, store.AlertFilter{Open: true}); len(left) != 0 {
		t.Fatalf("still open: %+v", left)
	}
}
