package hub_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// boot wires a store, a hub and an engine as internal/app does: the hub's
// floor is above everything published before, its durable replay is the
// engine (store plus outbox).
func boot(t *testing.T, path string, now func() time.Time) (*engine.Engine, *hub.Hub) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	last, _ := s.LastEventID(ctx)
	floor := max(last, event.NewID(now().UnixMilli(), 0))
	var eng *engine.Engine
	h := hub.New(hub.Options{Floor: floor, Durable: replayOf{&eng}, Now: now})
	t.Cleanup(h.Close)
	zone := crowd.Zone{ID: "ramp", Name: "Ramp", Kind: crowd.Moving, AreaM2: 50, Capacity: 200}.WithDefaults()
	eng, err = engine.New(ctx, engine.Options{Venue: crowd.Venue{Name: "t", Zones: []crowd.Zone{zone}}, Store: s,
		Publisher: h, Sequencer: event.NewSequencer(floor, now), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	h.Seed(eng.StateEvents()...)
	return eng, h
}

type replayOf struct{ e **engine.Engine }

func (r replayOf) EventsAfter(ctx context.Context, after, upTo event.ID, limit int) ([]*event.Event, bool, error) {
	return (*r.e).EventsAfter(ctx, after, upTo, limit)
}

// TestResumeAcrossARestartThatLostEventsIsReset: alerts shown while the
// disk was full die with the process. A client that saw them resumes on
// the next process and must get a reset and a snapshot (which no longer
// has them), never "resumed" with a stale view; a client that last saw an
// event from before the loss is resumed.
func TestResumeAcrossARestartThatLostEventsIsReset(t *testing.T) {
	dir := testenv.Tmpfs(t, 4<<20)
	path := filepath.Join(dir, "crowdrisk.db")
	now := time.UnixMilli(1_764_270_000_000)
	clock := func() time.Time { return now }
	ctx := context.Background()
	eng, h := boot(t, path, clock)
	feed := func(d float64, n int) {
		for range n {
			now = now.Add(time.Second)
			ts := now.UnixMilli()
			if _, err := eng.Ingest(ctx, []crowd.ReadingInput{{ZoneID: "ramp", Density: &d, Timestamp: &ts}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	watcher, _, err := h.Subscribe(ctx, []event.Topic{event.TopicAlerts}, "c0", "")
	if err != nil {
		t.Fatal(err)
	}
	feed(0.5, 15)
	feed(2.5, 45) // a warning alert, stored
	// What an alerts-only client holds: the id of the last alert it got.
	var b hub.Batch
	<-watcher.Ready()
	watcher.Take(&b)
	if len(b.Events) == 0 {
		t.Fatal("no alert event")
	}
	before := b.Events[len(b.Events)-1].ID
	free := testenv.Fill(t, dir)
	feed(4.5, 5) // critical and emergency: shown, not stored
	seen := h.Last()
	if em := eng.Emergency(); em == nil {
		t.Fatal("no emergency raised")
	}
	// The process dies with its outbox; then the disk has room again.
	free()
	now = now.Add(10 * time.Second)
	eng2, h2 := boot(t, path, clock)
	if eng2.Emergency() != nil {
		t.Fatal("the lost emergency came back from the store?")
	}
	_, st, err := h2.Subscribe(ctx, []event.Topic{event.TopicAlerts}, "c1", seen.String())
	if err != nil {
		t.Fatal(err)
	}
	if st.Resumed || len(st.Reset) == 0 {
		t.Fatalf("a client that saw lost events was resumed: %+v", st)
	}
	_, st, err = h2.Subscribe(ctx, []event.Topic{event.TopicAlerts}, "c2", before.String())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Resumed {
		t.Fatalf("a client from before the loss was reset: %+v", st)
	}
}
