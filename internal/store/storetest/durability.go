package storetest

import (
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// testThroughAndLost checks the two marks of the engine's durability
// contract: Through raises LastEventID (the store is complete up to it), and
// a Lost gap makes EventsAfter refuse to vouch for a last id inside it.
func testThroughAndLost(t *testing.T, open Opener) {
	s := openStore(t, open)
	ids := tenEvents(t, s)
	through := ids[9] + 100
	commit(t, s, store.Batch{Through: through})
	if last, err := s.LastEventID(ctx(t)); err != nil || last != through {
		t.Fatalf("last event id after Through = %v, %v; want %v", last, err, through)
	}
	// A lower Through never lowers the mark.
	commit(t, s, store.Batch{Through: ids[0]})
	if last, _ := s.LastEventID(ctx(t)); last != through {
		t.Fatalf("a lower Through moved the mark to %v", last)
	}

	// The previous process may have shown events in (through, floor) that
	// it never stored: a client whose last id is in there must be reset;
	// one before it (it saw nothing of the gap) or at its edges resumes.
	floor := through + 1000
	commit(t, s, store.Batch{Lost: []store.Gap{{After: through, Before: floor}}})
	for _, tc := range []struct {
		after   event.ID
		covered bool
	}{
		{ids[5], true},
		{through, true},
		{through + 1, false},
		{floor - 1, false},
		{floor, true},
	} {
		_, covered, err := s.EventsAfter(ctx(t), tc.after, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if covered != tc.covered {
			t.Errorf("EventsAfter(%v) covered = %v; want %v (gap %v..%v)", tc.after, covered, tc.covered, through, floor)
		}
	}
	// Pruning past the gap forgets it (the pruned mark says more); an id
	// beyond both resumes.
	if err := s.PruneEvents(ctx(t), ids[9].Time().Add(1), 0); err != nil {
		t.Fatal(err)
	}
	if _, covered, _ := s.EventsAfter(ctx(t), floor, 0, 0); !covered {
		t.Errorf("after the gap and the prune: covered = false")
	}
	if _, covered, _ := s.EventsAfter(ctx(t), through+1, 0, 0); covered {
		t.Errorf("inside the old gap: covered = true")
	}
}
