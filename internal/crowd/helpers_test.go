package crowd

import (
	"fmt"
	"testing"
	"time"
)

// t0 is the reading time every synthetic series starts at.
var t0 = time.Date(2025, 11, 27, 18, 0, 0, 0, time.UTC)

func standingZone(id string) Zone {
	return Zone{ID: id, Kind: Standing, AreaM2: 100}.WithDefaults()
}

func newTestMonitor(zones ...Zone) *Monitor {
	return NewMonitor(zones, MonitorOptions{})
}

// segment is a stretch of a synthetic series: density d every step for dur.
type segment struct {
	d   float64
	dur time.Duration
}

// series expands segments into readings of zone, one per step from start.
func series(zone string, start time.Time, step time.Duration, segs ...segment) []Reading {
	var out []Reading
	at := start
	for _, s := range segs {
		for end := at.Add(s.dur); at.Before(end); at = at.Add(step) {
			out = append(out, Reading{ZoneID: zone, Time: at, Density: s.d})
		}
	}
	return out
}

// run feeds readings and collects every outcome.
func run(m *Monitor, rs []Reading) []Outcome {
	out := make([]Outcome, len(rs))
	for i, r := range rs {
		out[i] = m.Observe(r)
	}
	return out
}

// levelChanges lists "level@seconds" for every change of the zone level.
func levelChanges(outs []Outcome) []string {
	var s []string
	for _, o := range outs {
		if o.LevelChanged {
			s = append(s, fmt.Sprintf("%s@%ds", o.Reading.Level, (o.Reading.Timestamp-t0.UnixMilli())/1000))
		}
	}
	return s
}

// alertEvents lists "kind:level:status[:muted]@seconds" for every alert change.
func alertEvents(outs []Outcome) []string {
	var s []string
	for _, o := range outs {
		for _, a := range o.Alerts {
			s = append(s, alertEvent(a))
		}
	}
	return s
}

func alertEvent(a Alert) string {
	e := fmt.Sprintf("%s:%s:%s", a.Kind, a.Level, a.Status)
	if a.Muted {
		e += ":muted"
	}
	return fmt.Sprintf("%s@%ds", e, (a.UpdatedAt-t0.UnixMilli())/1000)
}

func equalStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func f64(v float64) *float64 { return &v }
