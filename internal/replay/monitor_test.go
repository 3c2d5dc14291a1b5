package replay

import (
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// corridorReplay is what the Monitor made of the corridor recording: every
// change of the zone's displayed level and every alert change, each with
// its offset in seconds from the start of the recording.
type corridorReplay struct {
	levels []string // "level@s", starting with "normal@0s"
	alerts []string // "id kind level status@s"
}

// replayCorridor replays the corridor file, plus 150 s of its last (empty)
// second so the hysteresis hold can pass, into a moving zone over the
// classic 3.6 m² measurement area through the real Monitor with DOMAIN.md's
// default rules (and the zone's own overrides, if any).
func replayCorridor(t *testing.T, zone crowd.Zone) corridorReplay {
	t.Helper()
	f, err := os.Open(corridorFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := ParseTrajectories(f, TrajectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	samples := Hold(tr.Densities(ClassicArea), 150*time.Second)
	m := crowd.NewMonitor([]crowd.Zone{zone}, crowd.MonitorOptions{Rules: crowd.DefaultRules()})
	base := time.Date(2025, 11, 27, 18, 0, 0, 0, time.UTC)
	got := corridorReplay{levels: []string{"normal@0s"}}
	for _, in := range Readings(zone.ID, samples, base) {
		at := time.UnixMilli(*in.Timestamp)
		sec := int(at.Sub(base) / time.Second)
		out := m.Observe(crowd.Reading{ZoneID: in.ZoneID, Time: at, Density: *in.Density})
		if out.LevelChanged {
			got.levels = append(got.levels, fmt.Sprintf("%s@%ds", out.Reading.Level, sec))
			t.Logf("%4ds level %s → %s (smoothed %.2f p/m²)", sec, out.Previous, out.Reading.Level, out.Reading.Smoothed)
		}
		for _, a := range out.Alerts {
			got.alerts = append(got.alerts, fmt.Sprintf("%s %s %s %s@%ds", a.ID, a.Kind, a.Level, a.Status, sec))
			t.Logf("%4ds %s %s %s %s: %s", sec, a.ID, a.Kind, a.Level, a.Status, a.Message)
		}
	}
	if open := m.OpenAlerts(); len(open) != 0 {
		t.Errorf("alerts still open after the corridor emptied: %+v", open)
	}
	return got
}

// corridorLevels is the zone's displayed level on the recording, whatever
// the dwell: the smoothed density enters watch (1.1 p/m²) at 13 s and
// warning (2.0) at 27 s, and stays above warning's exit (1.5) until the
// corridor empties at 77 s; warning is released 120 s later, and watch
// (exit 0.6) two seconds after that, because the median falls through the
// two exits two seconds apart.
var corridorLevels = []string{"normal@0s", "watch@13s", "warning@27s", "watch@198s", "normal@200s"}

// TestCorridorReplayWithDefaultRules is issue 5's replay test: with
// DOMAIN.md's defaults the recorded corridor climbs to warning and comes
// back to normal. The crowd is above 2 p/m² only in stretches of 20 s and
// less (27–47 s, then shorter ones), so warning never holds for the 30 s
// dwell: the dashboard shows warning, but the one alert stays at watch (its
// level held from 13 s, raised at 43 s) and resolves when the zone is back
// to normal.
func TestCorridorReplayWithDefaultRules(t *testing.T) {
	zone := crowd.Zone{ID: "corridor", Kind: crowd.Moving, AreaM2: ClassicArea.Area()}
	got := replayCorridor(t, zone)
	if !reflect.DeepEqual(got.levels, corridorLevels) {
		t.Errorf("levels %q, want %q", got.levels, corridorLevels)
	}
	if want := []string{
		"a1 density watch active@43s",
		"a1 density watch resolved@200s",
	}; !reflect.DeepEqual(got.alerts, want) {
		t.Errorf("alerts %q, want %q", got.alerts, want)
	}
}

// TestCorridorReplayWithShortDwell: a venue file may give a short corridor
// a 20 s dwell. The displayed levels are exactly those of the defaults (the
// dwell gates alerts, never what the zone shows), but now warning's first
// stretch (27–47 s) holds long enough, so the watch alert escalates to
// warning, steps down with the level and resolves at normal.
func TestCorridorReplayWithShortDwell(t *testing.T) {
	dwell := crowd.Duration(20 * time.Second)
	zone := crowd.Zone{ID: "corridor", Kind: crowd.Moving, AreaM2: ClassicArea.Area(),
		Rules: &crowd.RuleOverrides{DwellLow: &dwell}}
	got := replayCorridor(t, zone)
	if !reflect.DeepEqual(got.levels, corridorLevels) {
		t.Errorf("levels %q, want %q", got.levels, corridorLevels)
	}
	if want := []string{
		"a1 density watch active@33s",
		"a1 density warning active@47s", // the same alert escalates
		"a1 density watch active@198s",  // and steps down with the level
		"a1 density watch resolved@200s",
	}; !reflect.DeepEqual(got.alerts, want) {
		t.Errorf("alerts %q, want %q", got.alerts, want)
	}
}
