package storetest

import (
	"errors"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// testFence: a batch carrying a lease token lower than one already
// committed is refused whole with store.ErrFenced, in the store itself; the
// same or a higher token commits, and unfenced batches are not affected.
func testFence(t *testing.T, open Opener) {
	s := openStore(t, open)
	commit(t, s, store.Batch{Fence: 5, Alerts: []crowd.Alert{alert("f5", "z1", crowd.StatusActive, base)}})
	commit(t, s, store.Batch{Fence: 5, Alerts: []crowd.Alert{alert("f5b", "z1", crowd.StatusActive, base)}})
	stale := store.Batch{Fence: 4, Alerts: []crowd.Alert{alert("f4", "z1", crowd.StatusActive, base)},
		Incidents: []crowd.Incident{incident(base, crowd.IncidentAlert, "z1", "from a deposed leader")}}
	if err := s.Commit(ctx(t), stale); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a stale token committed: %v", err)
	}
	if _, err := s.Alert(ctx(t), "f4"); err == nil {
		t.Fatal("the fenced batch's alert is stored")
	}
	if in, _ := s.Incidents(ctx(t), store.IncidentFilter{}); len(in) != 0 {
		t.Fatalf("the fenced batch's incident is stored: %+v", in)
	}
	commit(t, s, store.Batch{Fence: 6, Alerts: []crowd.Alert{alert("f6", "z1", crowd.StatusActive, base)}})
	commit(t, s, store.Batch{Alerts: []crowd.Alert{alert("f0", "z1", crowd.StatusActive, base)}})
	// The fence survives a reopen (a restarted instance).
	r := openStore(t, open)
	if err := r.Commit(ctx(t), store.Batch{Fence: 5, Alerts: []crowd.Alert{alert("f5c", "z1", crowd.StatusActive, base)}}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("after a reopen a stale token committed: %v", err)
	}
}
