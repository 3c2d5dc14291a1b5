package metrics

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
)

// TestZoneGauges: a real engine's latest readings are the per-zone gauges
// Grafana charts (density, smoothed, level as a number, live sensors, no
// data, reading time); a zone without a reading has no series; dropped
// history points are counted.
func TestZoneGauges(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "crowdrisk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.UnixMilli(1_764_270_000_000)
	clock := func() time.Time { return now }
	var eng *engine.Engine
	m := New(Options{Zones: func() []crowd.DensityReading { return eng.Latest() }})
	zones := []crowd.Zone{
		crowd.Zone{ID: "hall", Name: "Hall", Kind: crowd.Standing, AreaM2: 100, Capacity: 600}.WithDefaults(),
		crowd.Zone{ID: "ramp", Name: "Ramp", Kind: crowd.Moving, AreaM2: 50, Capacity: 200}.WithDefaults(),
	}
	eng, err = engine.New(ctx, engine.Options{Venue: crowd.Venue{Name: "t", Zones: zones}, Store: s,
		Publisher: nopPublisher{}, Sequencer: event.NewSequencer(0, clock), Now: clock, Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 { // warning for a standing zone, from two sensors
		now = now.Add(time.Second)
		ts := now.UnixMilli()
		d := 4.2
		in := []crowd.ReadingInput{{ZoneID: "hall", SensorID: "a", Density: &d, Timestamp: &ts}, {ZoneID: "hall", SensorID: "b", Density: &d, Timestamp: &ts}}
		if _, err := eng.Ingest(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	m.HistoryDropped(3)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	f := scrape(t, srv.URL)
	hall := map[string]string{"zone": "hall"}
	for name, want := range map[string]float64{
		"crowdrisk_zone_density":                   4.2,
		"crowdrisk_zone_density_smoothed":          4.2,
		"crowdrisk_zone_level":                     float64(crowd.Warning),
		"crowdrisk_zone_sensors_live":              2,
		"crowdrisk_zone_no_data":                   0,
		"crowdrisk_zone_reading_timestamp_seconds": float64(now.UnixMilli()) / 1000,
	} {
		if got := value(t, f, name, hall); got != want {
			t.Errorf("%s{zone=hall} = %v; want %v", name, got, want)
		}
	}
	for _, series := range f["crowdrisk_zone_density"].GetMetric() {
		for _, l := range series.GetLabel() {
			if l.GetName() == "zone" && l.GetValue() == "ramp" {
				t.Error("ramp has a density series before any reading")
			}
		}
	}
	if got := value(t, f, "crowdrisk_history_dropped_total", nil); got != 3 {
		t.Errorf("history dropped = %v; want 3", got)
	}

	// Door counters on the ramp: 30 in, then 40 out of a balance of 30.
	for i, c := range [][2]int{{30, 0}, {0, 40}} {
		ts := now.Add(time.Duration(i) * time.Millisecond).UnixMilli()
		if _, err := eng.Ingest(ctx, []crowd.ReadingInput{{ZoneID: "ramp", SensorID: "door-1", In: &c[0], Out: &c[1], Timestamp: &ts}}); err != nil {
			t.Fatal(err)
		}
	}
	f = scrape(t, srv.URL)
	ramp := map[string]string{"zone": "ramp"}
	if p, c := value(t, f, "crowdrisk_zone_counter_persons", ramp), value(t, f, "crowdrisk_zone_counter_clamped", ramp); p != 0 || c != 10 {
		t.Errorf("ramp's counters: %v persons, %v clamped; want 0 and 10 (a counter at fault)", p, c)
	}
	for _, series := range f["crowdrisk_zone_counter_persons"].GetMetric() {
		for _, l := range series.GetLabel() {
			if l.GetName() == "zone" && l.GetValue() == "hall" {
				t.Error("hall, without doors, has a counter series")
			}
		}
	}
}
