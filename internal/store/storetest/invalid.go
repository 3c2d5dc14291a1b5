package storetest

import (
	"reflect"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// testRejectsInvalid: what could not be read back is refused at commit,
// with nothing of the batch applied.
func testRejectsInvalid(t *testing.T, open Opener) {
	s := openStore(t, open)
	badLevel := crowd.Level(42)
	cases := map[string]store.Batch{
		"alert without id":      {Alerts: []crowd.Alert{alert("", "z", crowd.StatusActive, base)}},
		"alert with bad level":  {Alerts: []crowd.Alert{func() crowd.Alert { a := alert("a", "z", crowd.StatusActive, base); a.Level = badLevel; return a }()}},
		"alert with bad status": {Alerts: []crowd.Alert{alert("a", "z", "bogus", base)}},
		"incident with bad level": {
			Alerts:    []crowd.Alert{alert("a", "z", crowd.StatusActive, base)},
			Incidents: []crowd.Incident{{Timestamp: base, Kind: crowd.IncidentLevel, Level: &badLevel, Message: "m"}},
		},
		"event without id": {Events: []store.StoredEvent{storedEvent(0, "{}")}},
	}
	for name, b := range cases {
		if err := s.Commit(ctx(t), b); err == nil {
			t.Errorf("%s: committed; want an error", name)
		}
	}
	if as, err := s.Alerts(ctx(t), store.AlertFilter{}); err != nil || len(as) != 0 {
		t.Errorf("alerts after rejected batches = %v, %v; want none", as, err)
	}
}

// testDomainFieldsCovered is a tripwire: a field added to a persisted
// domain type must be given a column in every backend and a value in the
// round-trip tests above, or the store would silently drop it.
func testDomainFieldsCovered(t *testing.T, _ Opener) {
	for typ, want := range map[reflect.Type]int{
		reflect.TypeFor[crowd.Alert]():         16,
		reflect.TypeFor[crowd.EmergencyMode](): 5,
		reflect.TypeFor[crowd.Incident]():      8,
		reflect.TypeFor[store.StoredEvent]():   5,
	} {
		if got := typ.NumField(); got != want {
			t.Errorf("%v has %d fields, the stores persist %d: add the new ones to both backends' schema and to storetest", typ, got, want)
		}
	}
}
