package storetest

import (
	"fmt"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/store"
)

// testSensors: the sensor registry keeps each sensor's latest last_seen
// (an older one never moves it back) and survives a reopen.
func testSensors(t *testing.T, open Opener) {
	s := openStore(t, open)
	if got, err := s.Sensors(ctx(t)); err != nil || len(got) != 0 {
		t.Fatalf("empty registry: %v %v", got, err)
	}
	commit(t, s, store.Batch{Sensors: []store.SensorState{sensor("gate", "cam-1", base), sensor("gate", "", base), sensor("hall", "door-2", base)}})
	commit(t, s, store.Batch{Sensors: []store.SensorState{sensor("gate", "cam-1", base+5000), sensor("hall", "door-2", base-5000)}})
	r := openStore(t, open)
	got, err := r.Sensors(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint([]store.SensorState{sensor("gate", "", base), sensor("gate", "cam-1", base+5000), sensor("hall", "door-2", base)})
	if fmt.Sprint(got) != want {
		t.Fatalf("registry %v, want %v", got, want)
	}
}

func sensor(zone, id string, seen int64) store.SensorState {
	return store.SensorState{ZoneID: zone, SensorID: id, LastSeen: seen}
}
