package storetest

import (
	"reflect"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// minuteBase is base rounded down to a minute, where minute rows start.
const minuteBase = base - base%60000

func point(zone string, at int64, density float64, level crowd.Level, sensors int) store.DensityPoint {
	return store.DensityPoint{ZoneID: zone, At: at, Density: density, Smoothed: density / 2, Level: level, Sensors: sensors}
}

func writeHistory(t *testing.T, s store.Store, b store.HistoryBatch) {
	t.Helper()
	if err := s.WriteHistory(ctx(t), b); err != nil {
		t.Fatalf("write history: %v", err)
	}
}

func points(t *testing.T, s store.Store, f store.HistoryFilter) []store.DensityPoint {
	t.Helper()
	ps, err := s.DensityPoints(ctx(t), f)
	if err != nil {
		t.Fatalf("density points: %v", err)
	}
	return ps
}

func minutes(t *testing.T, s store.Store, f store.HistoryFilter) []store.DensityMinute {
	t.Helper()
	ms, err := s.DensityMinutes(ctx(t), f)
	if err != nil {
		t.Fatalf("density minutes: %v", err)
	}
	return ms
}

// testHistoryPoints: points come back whole, one zone's, in [From, To),
// oldest first, at most Limit; several points of a zone may share a
// millisecond (two sensors), and none is lost.
func testHistoryPoints(t *testing.T, open Opener) {
	s := openStore(t, open)
	if got := points(t, s, store.HistoryFilter{ZoneID: "north", From: 0, To: base * 2}); len(got) != 0 || got == nil {
		t.Fatalf("points of an empty store = %#v; want an empty, non-nil list", got)
	}
	nd := point("north", base+3000, 0.5, crowd.Normal, 0)
	nd.NoData = true
	writeHistory(t, s, store.HistoryBatch{Points: []store.DensityPoint{
		point("north", base+2000, 3.25, crowd.Warning, 2),
		point("north", base, 1.5, crowd.Normal, 1),
		point("south", base+1000, 9, crowd.Emergency, 3),
		point("north", base+2000, 3.5, crowd.Warning, 2),
	}})
	writeHistory(t, s, store.HistoryBatch{Points: []store.DensityPoint{nd}})

	got := points(t, s, store.HistoryFilter{ZoneID: "north", From: base, To: base + 3001})
	if len(got) != 4 || got[0] != point("north", base, 1.5, crowd.Normal, 1) || got[3] != nd {
		t.Fatalf("north points = %+v", got)
	}
	if got[1].At != base+2000 || got[2].At != base+2000 || got[1].Density+got[2].Density != 6.75 {
		t.Errorf("two points in one millisecond = %+v, %+v", got[1], got[2])
	}
	if got := points(t, s, store.HistoryFilter{ZoneID: "north", From: base + 1, To: base + 3000}); len(got) != 2 {
		t.Errorf("points in (base, base+3000) = %+v; want the two at base+2000 (From inclusive, To exclusive)", got)
	}
	if got := points(t, s, store.HistoryFilter{ZoneID: "north", From: base, To: base + 5000, Limit: 2}); len(got) != 2 || got[0].At != base {
		t.Errorf("points with limit 2 = %+v; want the oldest two", got)
	}
	if got := points(t, s, store.HistoryFilter{ZoneID: "south", From: base, To: base + 5000}); len(got) != 1 || got[0].Level != crowd.Emergency || got[0].Sensors != 3 {
		t.Errorf("south points = %+v", got)
	}
}

// testHistoryMinutes: minute rows of one zone and minute merge (counts and
// sums add, the extremes and the worst level hold), across writes.
func testHistoryMinutes(t *testing.T, open Opener) {
	s := openStore(t, open)
	a := store.MinuteOf(point("north", minuteBase+1000, 2, crowd.Watch, 2))
	b := store.MinuteOf(point("north", minuteBase+2000, 4, crowd.Warning, 1))
	c := store.MinuteOf(point("north", minuteBase+3000, 1, crowd.Normal, 3))
	next := store.MinuteOf(point("north", minuteBase+60000, 5, crowd.Critical, 2))
	other := store.MinuteOf(point("south", minuteBase+1000, 7, crowd.Critical, 2))
	writeHistory(t, s, store.HistoryBatch{Minutes: []store.DensityMinute{a, other}})
	writeHistory(t, s, store.HistoryBatch{Minutes: []store.DensityMinute{b}})
	writeHistory(t, s, store.HistoryBatch{Minutes: []store.DensityMinute{c, next}})

	want := a
	want.Merge(b)
	want.Merge(c)
	if want.Count != 3 || want.DensityMin != 1 || want.DensityMax != 4 || want.DensitySum != 7 ||
		want.Level != crowd.Warning || want.SensorsMin != 1 || want.SensorsMax != 3 || want.SmoothedSum != 3.5 {
		t.Fatalf("Merge = %+v", want) // the expectation itself
	}
	got := minutes(t, s, store.HistoryFilter{ZoneID: "north", From: minuteBase, To: minuteBase + 120000})
	if len(got) != 2 || got[0] != want || got[1] != next {
		t.Errorf("north minutes = %+v; want %+v then %+v", got, want, next)
	}
	if got := minutes(t, s, store.HistoryFilter{ZoneID: "north", From: minuteBase + 1, To: minuteBase + 120000}); len(got) != 1 || got[0].Minute != minuteBase+60000 {
		t.Errorf("minutes starting after minuteBase = %+v; want the second alone", got)
	}
	if got := minutes(t, s, store.HistoryFilter{ZoneID: "south", From: 0, To: minuteBase * 2}); len(got) != 1 || got[0] != other {
		t.Errorf("south minutes = %+v; want %+v", got, other)
	}
}

// testLatestReadings: each zone's last reading comes back whole (a
// restarted engine shows it as it was), a later write replaces it, an
// older one does not take it back, and it survives a reopen.
func testLatestReadings(t *testing.T, open Opener) {
	s := open(t)
	if got, err := s.LatestReadings(ctx(t)); err != nil || len(got) != 0 {
		t.Fatalf("latest of an empty store = %v, %v", got, err)
	}
	count := 120
	full := crowd.DensityReading{ZoneID: "north", Density: 3.5, Smoothed: 3.25, Level: crowd.Warning, Count: &count,
		Occupancy: 0.8, Trend: 0.1, Forecast: &crowd.Forecast{Level: crowd.Critical, Minutes: 4}, Timestamp: base + 5000,
		Sensors: 2, Peak: &crowd.SensorValue{SensorID: "cam-2", Density: 4.5, Level: crowd.Critical}}
	older := crowd.DensityReading{ZoneID: "north", Density: 1, Timestamp: base, Sensors: 1}
	south := crowd.DensityReading{ZoneID: "south", Density: 0.5, Timestamp: base, NoData: true}
	writeHistory(t, s, store.HistoryBatch{Latest: []crowd.DensityReading{older, south}})
	writeHistory(t, s, store.HistoryBatch{Latest: []crowd.DensityReading{full}})
	writeHistory(t, s, store.HistoryBatch{Latest: []crowd.DensityReading{older}}) // late: ignored
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	r := openStore(t, open)
	got, err := r.LatestReadings(ctx(t))
	if err != nil || len(got) != 2 || !reflect.DeepEqual(got[0], full) || !reflect.DeepEqual(got[1], south) {
		t.Errorf("latest after reopen = %+v, %v; want %+v and %+v", got, err, full, south)
	}
}

// testPruneHistory: points and minute rows go by their own retention; the
// latest readings stay whatever their age.
func testPruneHistory(t *testing.T, open Opener) {
	s := openStore(t, open)
	writeHistory(t, s, store.HistoryBatch{
		Points: []store.DensityPoint{point("north", base, 1, 0, 1), point("north", base+10000, 2, 0, 1), point("south", base, 3, 0, 1)},
		Minutes: []store.DensityMinute{
			store.MinuteOf(point("north", minuteBase, 1, 0, 1)),
			store.MinuteOf(point("north", minuteBase+60000, 2, 0, 1)),
			store.MinuteOf(point("south", minuteBase, 3, 0, 1)),
		},
		Latest: []crowd.DensityReading{{ZoneID: "north", Timestamp: base}, {ZoneID: "south", Timestamp: base}},
	})
	if err := s.PruneHistory(ctx(t), base+5000, minuteBase+60000); err != nil {
		t.Fatalf("prune: %v", err)
	}
	all := store.HistoryFilter{From: 0, To: base * 2}
	north, south := all, all
	north.ZoneID, south.ZoneID = "north", "south"
	if got := points(t, s, north); len(got) != 1 || got[0].At != base+10000 {
		t.Errorf("north points after prune = %+v; want the one at base+10000", got)
	}
	if got := points(t, s, south); len(got) != 0 {
		t.Errorf("south points after prune = %+v; want none", got)
	}
	if got := minutes(t, s, north); len(got) != 1 || got[0].Minute != minuteBase+60000 {
		t.Errorf("north minutes after prune = %+v", got)
	}
	if got := minutes(t, s, south); len(got) != 0 {
		t.Errorf("south minutes after prune = %+v", got)
	}
	if got, err := s.LatestReadings(ctx(t)); err != nil || len(got) != 2 {
		t.Errorf("latest after prune = %+v, %v; want both kept", got, err)
	}
}

// testRejectsInvalidHistory: what could not be read back is refused, with
// nothing of the batch written.
func testRejectsInvalidHistory(t *testing.T, open Opener) {
	s := openStore(t, open)
	good := point("north", base, 1, crowd.Normal, 1)
	bad := map[string]store.HistoryBatch{
		"point with bad level":   {Points: []store.DensityPoint{good, point("north", base, 1, crowd.Level(9), 1)}},
		"point without zone":     {Points: []store.DensityPoint{good, point("", base, 1, 0, 1)}},
		"minute not on a minute": {Points: []store.DensityPoint{good}, Minutes: []store.DensityMinute{{ZoneID: "north", Minute: minuteBase + 1, Count: 1}}},
		"latest without zone":    {Points: []store.DensityPoint{good}, Latest: []crowd.DensityReading{{Timestamp: base}}},
	}
	for name, b := range bad {
		if err := s.WriteHistory(ctx(t), b); err == nil || crowd.ErrorCode(err) != crowd.ErrInvalid {
			t.Errorf("%s: err = %v; want an invalid error", name, err)
		}
	}
	if got := points(t, s, store.HistoryFilter{ZoneID: "north", From: 0, To: base * 2}); len(got) != 0 {
		t.Errorf("points after refused batches = %+v; want none", got)
	}
}
