package engine

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// TestHistoryKeepsTheWorstPointOfEachSecond: a zone judged many times a
// second stores one point a second, the worst of them; the minute
// aggregates still count every reading.
func TestHistoryKeepsTheWorstPointOfEachSecond(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crowdrisk.db")
	c := &clock{t: t0}
	f, obs := openHistory(t, path, c, nil, HistoryOptions{FlushEvery: time.Hour})
	// Three seconds of readings from two sensors, ten a second, steady at
	// 2 persons/m² but for one spike of 9 in the middle of each second: the
	// smoothed density and the level do not move, so the spike is the
	// worst of its second, and neither the first nor the last reading is.
	var judged []crowd.DensityReading
	for range 3 {
		c.add(time.Second)
		base := c.now().UnixMilli() - 1000 + 1 // inside this second
		for i := range 10 {
			ts := base + int64(i*90)
			d := 2.0
			if i == 4 {
				d = 9
			}
			sensor := []string{"cam-1", "cam-2"}[i%2]
			out, err := f.eng.Ingest(context.Background(), []crowd.ReadingInput{{ZoneID: "hall", SensorID: sensor, Density: f64(d), Timestamp: &ts}})
			if err != nil {
				t.Fatal(err)
			}
			judged = append(judged, out...)
		}
	}
	w := &historyWriter{opts: f.eng.hopts, store: f.store, buf: f.eng.hist, log: f.eng.log, obs: obs, now: f.clock.now}
	w.flush(context.Background())
	all := store.HistoryFilter{ZoneID: "hall", From: 0, To: c.now().Add(time.Hour).UnixMilli()}
	points, err := f.store.DensityPoints(context.Background(), all)
	if err != nil || len(points) != 3 {
		t.Fatalf("points = %d, %v; want one for each of the 3 seconds", len(points), err)
	}
	for i, p := range points {
		var worst store.DensityPoint
		for j, r := range judged[i*10 : i*10+10] {
			if q := store.PointOf(r); j == 0 || worsePoint(q, worst) {
				worst = q
			}
		}
		if p != worst {
			t.Errorf("second %d: stored %+v, want the worst of the second %+v", i, p, worst)
		}
	}
	for i, p := range points {
		if p.Density != 9 {
			t.Errorf("second %d: stored density %v, want the spike's 9", i, p.Density)
		}
	}
	if ms, _ := f.store.DensityMinutes(context.Background(), all); sumCounts(ms) != 30 {
		t.Errorf("minutes count %d readings; want all 30", sumCounts(ms))
	}
}

func TestWorsePoint(t *testing.T) {
	p := func(level crowd.Level, smoothed, density float64, at int64, noData bool) store.DensityPoint {
		return store.DensityPoint{ZoneID: "z", Level: level, Smoothed: smoothed, Density: density, At: at, NoData: noData}
	}
	for _, c := range []struct {
		name string
		a, b store.DensityPoint
		want bool
	}{
		{"data over no data", p(crowd.Normal, 1, 1, 1, false), p(crowd.Critical, 5, 5, 2, true), true},
		{"no data under data", p(crowd.Critical, 5, 5, 2, true), p(crowd.Normal, 1, 1, 1, false), false},
		{"higher level", p(crowd.Warning, 1, 1, 1, false), p(crowd.Watch, 3, 3, 2, false), true},
		{"lower level", p(crowd.Watch, 3, 3, 2, false), p(crowd.Warning, 1, 1, 1, false), false},
		{"higher smoothed", p(crowd.Watch, 3, 1, 1, false), p(crowd.Watch, 2, 5, 2, false), true},
		{"higher density", p(crowd.Watch, 3, 4, 1, false), p(crowd.Watch, 3, 3, 2, false), true},
		{"a tie keeps the later", p(crowd.Watch, 3, 3, 2, false), p(crowd.Watch, 3, 3, 1, false), true},
		{"a tie does not take the earlier", p(crowd.Watch, 3, 3, 1, false), p(crowd.Watch, 3, 3, 2, false), false},
	} {
		if got := worsePoint(c.a, c.b); got != c.want {
			t.Errorf("%s: worsePoint = %v", c.name, got)
		}
	}
}
