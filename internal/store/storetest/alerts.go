package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// base is an arbitrary reading time (2025-11-27, the seed's example) so
// timestamps look like real ones.
const base int64 = 1764270000000

func alert(id, zone string, status crowd.AlertStatus, raisedAt int64) crowd.Alert {
	return crowd.Alert{
		ID: id, ZoneID: zone, Level: crowd.Warning, Kind: crowd.KindDensity,
		Message: "density 3.6 p/m² in " + zone, Density: 3.6,
		Timestamp: raisedAt, Status: status, UpdatedAt: raisedAt, Notifications: 1,
	}
}

func ids(as []crowd.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func testEmptyStore(t *testing.T, open Opener) {
	s := openStore(t, open)
	c := ctx(t)
	if err := s.Ping(c); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := s.Commit(c, store.Batch{}); err != nil {
		t.Fatalf("empty commit: %v", err)
	}
	as, err := s.Alerts(c, store.AlertFilter{})
	if err != nil || len(as) != 0 {
		t.Fatalf("alerts of an empty store = %v, %v; want none", as, err)
	}
	if m, err := s.Emergency(c); err != nil || m != nil {
		t.Fatalf("emergency of an empty store = %+v, %v; want nil", m, err)
	}
	if id, err := s.LastEventID(c); err != nil || id != 0 {
		t.Fatalf("last event id of an empty store = %v, %v; want 0", id, err)
	}
	evs, covered, err := s.EventsAfter(c, 0, 0, 0)
	if err != nil || len(evs) != 0 || !covered {
		t.Fatalf("events of an empty store = %v, covered %v, %v; want none, covered", evs, covered, err)
	}
	ins, err := s.Incidents(c, store.IncidentFilter{})
	if err != nil || len(ins) != 0 {
		t.Fatalf("incidents of an empty store = %v, %v; want none", ins, err)
	}
}

func testAlertRoundTrip(t *testing.T, open Opener) {
	s := openStore(t, open)
	// Every field set, with values that survive no accidental truncation:
	// a fractional density, a non-ASCII message, large counters.
	want := crowd.Alert{
		ID: "a-1", ZoneID: "north-gate", Level: crowd.Emergency, Kind: crowd.KindForecast,
		Message: "Nordtor: kritisch in 9 min — \"quoted\"\nsecond line", Density: 6.123456789,
		Timestamp: base, Status: crowd.StatusAcknowledged, UpdatedAt: base + 5000,
		AcknowledgedBy: "operator@control", AcknowledgedAt: base + 5000, ResolvedAt: base + 9000,
		Muted: true, MutedReason: "zone in emergency", Notifications: 7, SensorID: "cam-2",
	}
	commit(t, s, store.Batch{Alerts: []crowd.Alert{want}})
	got, err := s.Alert(ctx(t), "a-1")
	if err != nil {
		t.Fatalf("alert: %v", err)
	}
	if got != want {
		t.Fatalf("alert read back\n got %+v\nwant %+v", got, want)
	}
	for _, l := range crowd.Levels {
		a := alert(fmt.Sprintf("level-%d", l), "z", crowd.StatusActive, base)
		a.Level = l
		commit(t, s, store.Batch{Alerts: []crowd.Alert{a}})
		if got, err := s.Alert(ctx(t), a.ID); err != nil || got.Level != l {
			t.Fatalf("level %v read back as %v, %v", l, got.Level, err)
		}
	}
}

func testAlertUpsert(t *testing.T, open Opener) {
	s := openStore(t, open)
	a := alert("a-1", "z1", crowd.StatusActive, base)
	commit(t, s, store.Batch{Alerts: []crowd.Alert{a}})
	// The acknowledgement replaces the whole alert, including fields that
	// go back to their zero value (the mute lifted).
	a.Status, a.AcknowledgedBy, a.AcknowledgedAt, a.UpdatedAt = crowd.StatusAcknowledged, "op", base+1000, base+1000
	a.Level, a.Notifications = crowd.Critical, 2
	commit(t, s, store.Batch{Alerts: []crowd.Alert{a}})
	got, err := s.Alert(ctx(t), "a-1")
	if err != nil || got != a {
		t.Fatalf("after upsert got %+v, %v; want %+v", got, err, a)
	}
	all, err := s.Alerts(ctx(t), store.AlertFilter{})
	if err != nil || len(all) != 1 {
		t.Fatalf("upsert made %d alerts (%v); want 1", len(all), err)
	}
	// Two versions of one alert in one batch: the later one wins.
	b := a
	b.Status, b.ResolvedAt, b.UpdatedAt = crowd.StatusResolved, base+2000, base+2000
	commit(t, s, store.Batch{Alerts: []crowd.Alert{a, b}})
	if got, _ := s.Alert(ctx(t), "a-1"); got != b {
		t.Fatalf("batch with two versions: got %+v; want the later %+v", got, b)
	}
}

func testAlertNotFound(t *testing.T, open Opener) {
	s := openStore(t, open)
	_, err := s.Alert(ctx(t), "missing")
	var ce *crowd.Error
	if !errors.As(err, &ce) || ce.Code != crowd.ErrNotFound || ce.Field != "id" {
		t.Fatalf("Alert(missing) = %v; want *crowd.Error{Code: %s, Field: id}", err, crowd.ErrNotFound)
	}
}

func testAlertFilters(t *testing.T, open Opener) {
	s := openStore(t, open)
	all := []crowd.Alert{
		alert("a1", "north", crowd.StatusResolved, base+1000),
		alert("a2", "south", crowd.StatusActive, base+2000),
		alert("a3", "north", crowd.StatusAcknowledged, base+3000),
		alert("a4", "north", crowd.StatusActive, base+4000),
		alert("a5", "south", crowd.StatusResolved, base+5000),
	}
	// Committed out of time order: the order of the answer must come from
	// the raise time, not from insertion.
	commit(t, s, store.Batch{Alerts: []crowd.Alert{all[2], all[0], all[4]}})
	commit(t, s, store.Batch{Alerts: []crowd.Alert{all[3], all[1]}})
	cases := []struct {
		name string
		f    store.AlertFilter
		want []string
	}{
		{"all newest first", store.AlertFilter{}, []string{"a5", "a4", "a3", "a2", "a1"}},
		{"active", store.AlertFilter{Status: crowd.StatusActive}, []string{"a4", "a2"}},
		{"acknowledged", store.AlertFilter{Status: crowd.StatusAcknowledged}, []string{"a3"}},
		{"resolved", store.AlertFilter{Status: crowd.StatusResolved}, []string{"a5", "a1"}},
		{"open", store.AlertFilter{Open: true}, []string{"a4", "a3", "a2"}},
		{"zone", store.AlertFilter{ZoneID: "north"}, []string{"a4", "a3", "a1"}},
		{"zone and open", store.AlertFilter{ZoneID: "north", Open: true}, []string{"a4", "a3"}},
		{"zone and status", store.AlertFilter{ZoneID: "south", Status: crowd.StatusActive}, []string{"a2"}},
		{"unknown zone", store.AlertFilter{ZoneID: "east"}, []string{}},
		{"limit", store.AlertFilter{Limit: 2}, []string{"a5", "a4"}},
		{"limit with filter", store.AlertFilter{Open: true, Limit: 1}, []string{"a4"}},
	}
	for _, tc := range cases {
		got, err := s.Alerts(ctx(t), tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v; want %v", tc.name, ids(got), tc.want)
		}
	}
	// The backend's default limit is 1000: more alerts than that are cut.
	var many []crowd.Alert
	for i := range 1005 {
		many = append(many, alert(fmt.Sprintf("m%04d", i), "bulk", crowd.StatusActive, base+int64(i)))
	}
	commit(t, s, store.Batch{Alerts: many})
	got, err := s.Alerts(ctx(t), store.AlertFilter{ZoneID: "bulk"})
	if err != nil || len(got) != 1000 || got[0].ID != "m1004" {
		t.Fatalf("default limit: got %d alerts starting %v, %v; want 1000 starting m1004", len(got), ids(got[:min(1, len(got))]), err)
	}
}
