package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

func storedEvent(id event.ID, data string) store.StoredEvent {
	return store.StoredEvent{ID: id, Topic: event.TopicAlerts, Type: event.TypeAlert, Data: []byte(data), At: id.Time()}
}

func incident(ts int64, kind crowd.IncidentKind, zone, msg string) crowd.Incident {
	return crowd.Incident{Timestamp: ts, Kind: kind, ZoneID: zone, Actor: "engine", Message: msg}
}

func testAtomicCommit(t *testing.T, open Opener) {
	s := openStore(t, open)
	first := event.NewID(base, 0)
	commit(t, s, store.Batch{Events: []store.StoredEvent{storedEvent(first, `{"n":1}`)}})

	// A batch that fails at its very end (the last event repeats an id)
	// must leave nothing of its earlier parts behind.
	bad := store.Batch{
		Alerts:       []crowd.Alert{alert("a-new", "z1", crowd.StatusActive, base)},
		SetEmergency: true,
		Emergency:    &crowd.EmergencyMode{Active: true, Reason: "test", ZoneIDs: []string{"z1"}, ActivatedAt: base, ActivatedBy: "op"},
		Incidents:    []crowd.Incident{incident(base, crowd.IncidentAlert, "z1", "raised")},
		Events: []store.StoredEvent{
			storedEvent(event.NewID(base, 1), `{"n":2}`),
			storedEvent(first, `{"dup":true}`),
		},
	}
	if err := s.Commit(ctx(t), bad); err == nil {
		t.Fatal("commit of a batch with a duplicate event id succeeded; want an error")
	}
	if _, err := s.Alert(ctx(t), "a-new"); crowd.ErrorCode(err) != crowd.ErrNotFound {
		t.Errorf("alert of the failed batch: %v; want not found", err)
	}
	if m, err := s.Emergency(ctx(t)); err != nil || m != nil {
		t.Errorf("emergency after the failed batch = %+v, %v; want nil", m, err)
	}
	if ins, err := s.Incidents(ctx(t), store.IncidentFilter{}); err != nil || len(ins) != 0 {
		t.Errorf("incidents after the failed batch = %v, %v; want none", ins, err)
	}
	evs, _, err := s.EventsAfter(ctx(t), 0, 0, 0)
	if err != nil || len(evs) != 1 || string(evs[0].Data) != `{"n":1}` {
		t.Errorf("events after the failed batch = %v, %v; want only the first", evs, err)
	}
	if last, err := s.LastEventID(ctx(t)); err != nil || last != first {
		t.Errorf("last event id = %v, %v; want %v", last, err, first)
	}
	// The store is still usable after the rollback.
	commit(t, s, store.Batch{Alerts: []crowd.Alert{alert("a-ok", "z1", crowd.StatusActive, base)}})
	if _, err := s.Alert(ctx(t), "a-ok"); err != nil {
		t.Fatalf("commit after a failed one: %v", err)
	}
}

func testEmergency(t *testing.T, open Opener) {
	s := openStore(t, open)
	on := &crowd.EmergencyMode{Active: true, Reason: "crush risk at the north gate", ZoneIDs: []string{"north", "pitch"},
		ActivatedAt: base, ActivatedBy: "engine"}
	commit(t, s, store.Batch{SetEmergency: true, Emergency: on})
	got, err := s.Emergency(ctx(t))
	if err != nil || !reflect.DeepEqual(got, on) {
		t.Fatalf("emergency = %+v, %v; want %+v", got, err, on)
	}
	// A batch that does not set the emergency leaves it alone, even with a
	// nil Emergency field.
	commit(t, s, store.Batch{Alerts: []crowd.Alert{alert("a", "north", crowd.StatusActive, base)}})
	if got, _ := s.Emergency(ctx(t)); !reflect.DeepEqual(got, on) {
		t.Fatalf("emergency after an unrelated batch = %+v; want %+v", got, on)
	}
	// It survives a reopen.
	s2 := openStore(t, open)
	if got, err := s2.Emergency(ctx(t)); err != nil || !reflect.DeepEqual(got, on) {
		t.Fatalf("emergency after reopen = %+v, %v; want %+v", got, err, on)
	}
	commit(t, s2, store.Batch{SetEmergency: true})
	if got, err := s2.Emergency(ctx(t)); err != nil || got != nil {
		t.Fatalf("emergency after ending = %+v, %v; want nil", got, err)
	}
	again := &crowd.EmergencyMode{Active: true, Reason: "operator", ZoneIDs: []string{}, ActivatedAt: base + time.Hour.Milliseconds(), ActivatedBy: "op"}
	commit(t, s2, store.Batch{SetEmergency: true, Emergency: again})
	if got, err := s2.Emergency(ctx(t)); err != nil || !reflect.DeepEqual(got, again) {
		t.Fatalf("emergency activated again = %+v, %v; want %+v", got, err, again)
	}
	commit(t, s2, store.Batch{SetEmergency: true})
	s3 := openStore(t, open)
	if got, err := s3.Emergency(ctx(t)); err != nil || got != nil {
		t.Fatalf("ended emergency after reopen = %+v, %v; want nil", got, err)
	}
}
