package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// TestSnapshotIsBounded: however many alerts are open, a new stream's
// snapshot carries MaxSnapshotAlerts of them, the most severe and newest,
// every zone, and a closing snapshot-limit event that says what it left out.
func TestSnapshotIsBounded(t *testing.T) {
	f := newFixture(t, Options{HistorySize: 10})
	n := MaxSnapshotAlerts + 500
	var evs []*event.Event
	for i := range n {
		a := f.alert(fmt.Sprintf("w%d", i), false)
		a.Severity = 1 // watch
		evs = append(evs, a)
	}
	crit := f.alert("old-critical", false)
	crit.Severity = 3
	crit.ID = event.NewID(1_764_269_000_000, 1) // the oldest of all
	f.hub.state.apply(crit)
	f.hub.Publish(evs...)
	f.hub.Publish(f.density("a", 1))
	_, st, err := f.hub.Subscribe(context.Background(), []event.Topic{event.TopicDensity, event.TopicAlerts}, "c", "")
	if err != nil {
		t.Fatal(err)
	}
	snap := st.Snapshot
	var alerts, zones int
	hasCritical := false
	for _, e := range snap[:len(snap)-1] {
		switch e.Type {
		case event.TypeAlert:
			alerts++
			hasCritical = hasCritical || e == crit
		case event.TypeDensity:
			zones++
		}
	}
	if alerts != MaxSnapshotAlerts || zones != 1 || !hasCritical {
		t.Fatalf("snapshot: %d alerts (want %d), %d zones, critical kept %v", alerts, MaxSnapshotAlerts, zones, hasCritical)
	}
	last := snap[len(snap)-1]
	var msg struct {
		Type string `json:"type"`
		Data struct {
			Omitted int    `json:"omitted"`
			Rest    string `json:"rest"`
		} `json:"data"`
	}
	if err := json.Unmarshal(last.Data, &msg); err != nil || last.ID != 0 || msg.Type != event.TypeSnapshotLimit || msg.Data.Omitted != n+1-MaxSnapshotAlerts || msg.Data.Rest == "" {
		t.Fatalf("last snapshot event %s (id %v): %v", last.Data, last.ID, err)
	}
	for i := 1; i < len(snap)-1; i++ {
		if snap[i].ID < snap[i-1].ID {
			t.Fatalf("snapshot out of id order at %d", i)
		}
	}
}
