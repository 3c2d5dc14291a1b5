package storetest

import (
	"fmt"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// testCounters: a zone's door-counter balance is replaced by the latest
// batch; a door's counted mark never moves back (an older one would let a
// resent report be counted twice); both survive a reopen, in a stable
// order; a negative balance is refused as invalid, and with it the batch.
func testCounters(t *testing.T, open Opener) {
	s := openStore(t, open)
	if cs, ds, err := s.Counters(ctx(t)); err != nil || len(cs) != 0 || len(ds) != 0 {
		t.Fatalf("empty store: %v %v %v", cs, ds, err)
	}
	commit(t, s, store.Batch{
		Counters: []store.CounterState{{ZoneID: "hall", Persons: 12}, {ZoneID: "gate", Persons: 800, Clamped: 3, ResetAt: base}},
		Doors:    []store.DoorState{{ZoneID: "gate", SensorID: "door-2", Counted: base}, {ZoneID: "gate", SensorID: "door-1", Counted: base}},
	})
	commit(t, s, store.Batch{
		Counters: []store.CounterState{{ZoneID: "gate", Persons: 0, ResetAt: base + 86_400_000}},
		Doors:    []store.DoorState{{ZoneID: "gate", SensorID: "door-1", Counted: base + 1000}, {ZoneID: "gate", SensorID: "door-2", Counted: base - 1000}},
	})
	err := s.Commit(ctx(t), store.Batch{
		Counters: []store.CounterState{{ZoneID: "hall", Persons: -1}},
		Doors:    []store.DoorState{{ZoneID: "hall", SensorID: "door-9", Counted: base}},
	})
	if crowd.ErrorCode(err) != crowd.ErrInvalid {
		t.Fatalf("a negative balance: %v, want an invalid batch", err)
	}
	r := openStore(t, open)
	cs, ds, err := r.Counters(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	wantC := fmt.Sprint([]store.CounterState{{ZoneID: "gate", Persons: 0, ResetAt: base + 86_400_000}, {ZoneID: "hall", Persons: 12}})
	wantD := fmt.Sprint([]store.DoorState{{ZoneID: "gate", SensorID: "door-1", Counted: base + 1000}, {ZoneID: "gate", SensorID: "door-2", Counted: base}})
	if fmt.Sprint(cs) != wantC || fmt.Sprint(ds) != wantD {
		t.Fatalf("counters %v doors %v,\nwant %v %v", cs, ds, wantC, wantD)
	}
}
