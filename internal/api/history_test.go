package api

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
)

// startHistory serves the API with a real SQLite store as its history.
func startHistory(t *testing.T) (*env, *sqlite.Store) {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "crowdrisk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := start(t, false, func(o *Options) { o.History, o.HistoryRaw = s, time.Hour })
	return e, s
}

func writeHistory(t *testing.T, s *sqlite.Store, b store.HistoryBatch) {
	t.Helper()
	if err := s.WriteHistory(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

type rawAnswer struct {
	HistoryAnswer
	Points []HistoryPoint `json:"points"`
}

type minuteAnswer struct {
	HistoryAnswer
	Points []HistoryMinute `json:"points"`
}

func historyPath(zone string, from, to int64) string {
	return fmt.Sprintf("%s/zones/%s/history?from=%d&to=%d", Prefix, zone, from, to)
}

// TestZoneHistoryRawWithinRetention: a range within the raw retention is
// answered with every stored reading of the zone, oldest first, levels by
// name, and the resolution says so.
func TestZoneHistoryRawWithinRetention(t *testing.T) {
	e, s := startHistory(t)
	now := t0.UnixMilli()
	writeHistory(t, s, store.HistoryBatch{Points: []store.DensityPoint{
		{ZoneID: "gate-a", At: now - 20*60000, Density: 1.5, Smoothed: 1.4, Level: crowd.Watch, Sensors: 2},
		{ZoneID: "gate-a", At: now - 10*60000, Density: 2.5, Smoothed: 2.1, Level: crowd.Warning, Sensors: 1, NoData: true},
		{ZoneID: "north-stand", At: now - 10*60000, Density: 9, Level: crowd.Emergency},
		{ZoneID: "gate-a", At: now - 2*3600000, Density: 7},
	}})
	r := e.do("GET", historyPath("gate-a", now-30*60000, now), "")
	if r.status != http.StatusOK || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, Cache-Control %q: %s", r.status, r.header.Get("Cache-Control"), r.body)
	}
	var a rawAnswer
	r.decode(t, &a)
	want := []HistoryPoint{
		{Timestamp: now - 20*60000, Density: 1.5, Smoothed: 1.4, Level: crowd.Watch, Sensors: 2},
		{Timestamp: now - 10*60000, Density: 2.5, Smoothed: 2.1, Level: crowd.Warning, Sensors: 1, NoData: true},
	}
	if a.Resolution != "raw" || a.ZoneID != "gate-a" || a.Truncated || len(a.Points) != 2 || a.Points[0] != want[0] || a.Points[1] != want[1] {
		t.Fatalf("answer = %s", r.body)
	}
	// Without from and to: the last hour.
	var d rawAnswer
	e.do("GET", Prefix+"/zones/gate-a/history", "").decode(t, &d)
	if d.Resolution != "raw" || d.From != now-3600000 || d.To != now || len(d.Points) != 2 {
		t.Errorf("default range answer = %+v", d)
	}
}

// TestZoneHistoryMinutesBeyondRetention: a range that reaches before the
// raw retention is answered with the one-minute aggregates (min, max,
// mean, worst level, sensors), including the minute that holds from.
func TestZoneHistoryMinutesBeyondRetention(t *testing.T) {
	e, s := startHistory(t)
	now := t0.UnixMilli()
	minute := now - now%60000 - 3*3600000
	m := store.MinuteOf(store.DensityPoint{ZoneID: "gate-a", At: minute + 1000, Density: 1, Smoothed: 1, Level: crowd.Normal, Sensors: 2})
	m.Merge(store.MinuteOf(store.DensityPoint{ZoneID: "gate-a", At: minute + 2000, Density: 3, Smoothed: 2, Level: crowd.Warning, Sensors: 1}))
	writeHistory(t, s, store.HistoryBatch{Minutes: []store.DensityMinute{m}})
	r := e.do("GET", historyPath("gate-a", minute+30000, now), "")
	var a minuteAnswer
	r.decode(t, &a)
	if r.status != 200 || a.Resolution != "minute" || len(a.Points) != 1 {
		t.Fatalf("answer %d: %s", r.status, r.body)
	}
	p := a.Points[0]
	if p.Timestamp != minute || p.Density != (Spread{Min: 1, Max: 3, Mean: 2}) || p.Smoothed != (Spread{Min: 1, Max: 2, Mean: 1.5}) ||
		p.Level != crowd.Warning || p.Sensors.Min != 1 || p.Sensors.Max != 2 || p.Readings != 2 {
		t.Errorf("minute = %+v", p)
	}
}

// TestZoneHistoryCapAndNext: a range with more points than the cap is cut
// (never inside one millisecond) and says where to continue; following
// next gets the rest, with no point twice and none missing.
func TestZoneHistoryCapAndNext(t *testing.T) {
	e, s := startHistory(t)
	now := t0.UnixMilli()
	start := now - 30*60000
	var ps []store.DensityPoint
	for i := range MaxHistoryPoints + 5 {
		at := start + int64(i)
		if i == MaxHistoryPoints { // two sensors in the millisecond at the cut
			at = start + MaxHistoryPoints - 1
		}
		ps = append(ps, store.DensityPoint{ZoneID: "gate-a", At: at, Density: float64(i)})
	}
	writeHistory(t, s, store.HistoryBatch{Points: ps})
	var first rawAnswer
	e.do("GET", historyPath("gate-a", start, now), "").decode(t, &first)
	if !first.Truncated || first.Next == nil || *first.Next != start+MaxHistoryPoints-1 || len(first.Points) != MaxHistoryPoints-1 {
		t.Fatalf("first page: truncated %v next %v, %d points", first.Truncated, first.Next, len(first.Points))
	}
	var rest rawAnswer
	e.do("GET", historyPath("gate-a", *first.Next, now), "").decode(t, &rest)
	if rest.Truncated || len(rest.Points) != 6 {
		t.Fatalf("second page: truncated %v, %d points", rest.Truncated, len(rest.Points))
	}
	if n := len(first.Points) + len(rest.Points); n != len(ps) {
		t.Errorf("both pages hold %d points; want %d", n, len(ps))
	}
}

// TestZoneHistoryBadInput: bad input is a 400 naming the field; an unknown
// zone is a 404.
func TestZoneHistoryBadInput(t *testing.T) {
	e, _ := startHistory(t)
	now := t0.UnixMilli()
	for _, c := range []struct{ query, field string }{
		{"from=abc", "from"},
		{"from=1764270000", "from"}, // seconds
		{"to=-5", "to"},
		{fmt.Sprintf("from=%d&to=%d", now, now), "to"},
		{fmt.Sprintf("from=%d&to=%d", now, now-1000), "to"},
	} {
		t.Run(c.query, func(t *testing.T) {
			wantError(t, e.do("GET", Prefix+"/zones/gate-a/history?"+c.query, ""), 400, "invalid", c.field)
		})
	}
	wantError(t, e.do("GET", Prefix+"/zones/nowhere/history", ""), 404, "not_found", "id")
}

// TestZoneHistoryNeedsAViewer: the history is read access like the rest.
func TestZoneHistoryNeedsAViewer(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "crowdrisk.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := start(t, true, func(o *Options) { o.History = s })
	if r := e.do("GET", Prefix+"/zones/gate-a/history", ""); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", r.status)
	}
	if r := e.do("GET", Prefix+"/zones/gate-a/history", "", "Authorization", "Bearer "+e.token("viewer")); r.status != 200 {
		t.Errorf("viewer: %d %s", r.status, r.body)
	}
}
