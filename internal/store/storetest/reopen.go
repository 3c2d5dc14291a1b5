package storetest

import (
	"reflect"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// testSurvivesReopen is the restart of the engine: everything committed
// before Close is there after opening the same database again (which also
// re-runs the migrations on an up-to-date schema).
func testSurvivesReopen(t *testing.T, open Opener) {
	s := open(t)
	a := alert("a-1", "north", crowd.StatusAcknowledged, base)
	a.AcknowledgedBy, a.AcknowledgedAt = "op", base+10
	em := &crowd.EmergencyMode{Active: true, Reason: "r", ZoneIDs: []string{"north"}, ActivatedAt: base, ActivatedBy: "op"}
	ev := storedEvent(event.NewID(base, 3), `{"type":"alert"}`)
	commit(t, s, store.Batch{
		Alerts: []crowd.Alert{a}, SetEmergency: true, Emergency: em,
		Events:    []store.StoredEvent{ev},
		Incidents: []crowd.Incident{incident(base, crowd.IncidentAcknowledge, "north", "acknowledged by op")},
	})
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	r := openStore(t, open)
	c := ctx(t)
	if got, err := r.Alert(c, "a-1"); err != nil || got != a {
		t.Errorf("alert after reopen = %+v, %v; want %+v", got, err, a)
	}
	if got, err := r.Alerts(c, store.AlertFilter{Open: true}); err != nil || len(got) != 1 {
		t.Errorf("open alerts after reopen = %v, %v; want 1", got, err)
	}
	if got, err := r.Emergency(c); err != nil || !reflect.DeepEqual(got, em) {
		t.Errorf("emergency after reopen = %+v, %v; want %+v", got, err, em)
	}
	if last, err := r.LastEventID(c); err != nil || last != ev.ID {
		t.Errorf("last event id after reopen = %v, %v; want %v", last, err, ev.ID)
	}
	if evs, covered, err := r.EventsAfter(c, 0, 0, 0); err != nil || len(evs) != 1 || !covered || string(evs[0].Data) != string(ev.Data) {
		t.Errorf("events after reopen = %v, covered %v, %v", evs, covered, err)
	}
	if ins, err := r.Incidents(c, store.IncidentFilter{}); err != nil || len(ins) != 1 || ins[0].Message != "acknowledged by op" {
		t.Errorf("incidents after reopen = %v, %v", ins, err)
	}
	// The reopened store keeps working, and a third open sees its writes.
	commit(t, r, store.Batch{Alerts: []crowd.Alert{alert("a-2", "south", crowd.StatusActive, base+1)}})
	r3 := openStore(t, open)
	if got, err := r3.Alerts(c, store.AlertFilter{}); err != nil || len(got) != 2 {
		t.Errorf("alerts seen by a second open store = %v, %v; want 2", got, err)
	}
}
