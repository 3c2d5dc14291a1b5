package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
)

// counterVenue is testVenue whose counters reset at 04:00 UTC.
func counterVenue() crowd.Venue {
	v := testVenue()
	at := crowd.ClockTime(4 * 60)
	v.Timezone, v.CounterReset = "UTC", &at
	return v
}

func openCounters(t *testing.T, path string, c *clock, st store.Store) *fixture {
	t.Helper()
	return openWith(t, path, c, st, func(o *Options) { o.Venue = counterVenue() })
}

func doorReport(door string, at time.Time, in, out int) crowd.ReadingInput {
	return crowd.ReadingInput{ZoneID: "hall", SensorID: door, In: &in, Out: &out, Timestamp: i64(at.UnixMilli())}
}

// TestDoorCountersSurviveARestart: the balance a stand's doors counted is
// committed with the readings (no tick needed), so a restarted engine on
// the same SQLite file continues it, still refuses a report it counted
// before, and resets it at the scheduled time, saying so in the log.
func TestDoorCountersSurviveARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crowdrisk.db")
	start := time.Date(2026, 6, 12, 20, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	s1, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f := openCounters(t, path, c, s1)
	first := doorReport("door-1", c.now(), 300, 0)
	if _, err := f.eng.Ingest(ctx, []crowd.ReadingInput{first, doorReport("door-2", c.now(), 120, 20)}); err != nil {
		t.Fatal(err)
	}
	s1.Close() // no tick since: what is not committed now is lost

	c.add(time.Minute)
	g := openCounters(t, path, c, nil)
	if _, err := g.eng.Ingest(ctx, []crowd.ReadingInput{first}); crowd.ErrorCode(err) != crowd.ErrConflict ||
		!strings.Contains(err.Error(), "readings[0].timestamp") && !strings.Contains(err.Error(), "[0].timestamp") {
		t.Fatalf("the report counted before the restart, sent again: %v, want a conflict", err)
	}
	out, err := g.eng.Ingest(ctx, []crowd.ReadingInput{doorReport("door-1", c.now(), 5, 0)})
	if err != nil {
		t.Fatal(err)
	}
	r := out[0]
	if r.Count == nil || *r.Count != 405 || r.Density != 4.05 || r.Counters == nil || r.Counters.Persons != 405 {
		t.Fatalf("after the restart: %+v, want the balance continued (400 + 5 persons in 100 m²)", r)
	}

	// The night passes: at 04:00 the tick resets the balance and commits it.
	c.t = time.Date(2026, 6, 13, 4, 0, 1, 0, time.UTC)
	g.eng.tick(ctx)
	h := openCounters(t, filepath.Join(t.TempDir(), "unused.db"), c, g.store)
	out, err = h.eng.Ingest(ctx, []crowd.ReadingInput{doorReport("door-2", c.now(), 7, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if *out[0].Count != 7 {
		t.Fatalf("after the reset and a restart: %d persons, want 7", *out[0].Count)
	}
	log, err := g.store.Incidents(ctx, store.IncidentFilter{ZoneID: "hall"})
	if err != nil {
		t.Fatal(err)
	}
	var resets int
	for _, in := range log {
		if in.Kind == crowd.IncidentCounter && strings.Contains(in.Message, "reset to 0") && strings.Contains(in.Message, "405 persons") {
			resets++
		}
	}
	if resets != 1 {
		t.Fatalf("incident log %+v: want one reset line naming the 405 persons dropped", log)
	}
}

// TestDoorCountersWaitInTheOutbox: with the store down a door's report is
// taken (an operator must see the crowd), its balance waits in the outbox
// and reaches the store once it is back.
func TestDoorCountersWaitInTheOutbox(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crowdrisk.db")
	c := &clock{t: t0}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fs := &failingStore{Store: s, down: true}
	f := openCounters(t, path, c, fs)
	f.pub.uncommittedOK = true
	for i := range 3 {
		c.add(time.Second)
		if _, err := f.eng.Ingest(ctx, []crowd.ReadingInput{doorReport("door-1", c.now(), 10, i)}); err != nil {
			t.Fatal(err)
		}
	}
	fs.mu.Lock()
	fs.down = false
	fs.mu.Unlock()
	c.add(time.Second)
	f.eng.tick(ctx)
	cs, ds, err := s.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Persons != 27 || len(ds) != 1 || ds[0].Counted != t0.Add(3*time.Second).UnixMilli() {
		t.Fatalf("stored %+v %+v, want 27 persons and door-1's third report", cs, ds)
	}
}
