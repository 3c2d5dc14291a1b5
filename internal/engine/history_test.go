package engine

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
)

// historyObserver counts what the history dropped.
type historyObserver struct{ dropped atomic.Int64 }

func (o *historyObserver) Ingested(int)                    {}
func (o *historyObserver) AlertChanged(crowd.Alert)        {}
func (o *historyObserver) HistoryDropped(points int)       { o.dropped.Add(int64(points)) }
func (o *historyObserver) StoreCommitFailed()              {}
func (o *historyObserver) StoreState(degraded bool, _ int) {}

// openHistory is open with a fast history writer and an observer.
func openHistory(t *testing.T, path string, c *clock, st store.Store, hopts HistoryOptions) (*fixture, *historyObserver) {
	t.Helper()
	obs := &historyObserver{}
	if hopts.FlushEvery == 0 {
		hopts.FlushEvery = 20 * time.Millisecond
	}
	f := openWith(t, path, c, st, func(o *Options) { o.Observer, o.History = obs, hopts })
	return f, obs
}

// run runs the engine (ticks and history writer) until the returned stop
// is called; stop waits for Run to return, as a graceful shutdown does.
func run(eng *Engine) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRestartShowsEachZonesLastState: the judged readings are stored in
// the background; a restarted engine shows each zone's last reading (the
// values and time it had, marked as no data until the zone reports again)
// in /density and in a new screen's snapshot, and its level is not normal.
func TestRestartShowsEachZonesLastState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crowdrisk.db")
	c := &clock{t: t0}
	s1, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := openHistory(t, path, c, s1, HistoryOptions{})
	stop := run(f.eng)
	f.feed(t, "hall", 4.2, 20) // warning for a standing zone
	f.feed(t, "ramp", 0.5, 3)
	last := f.eng.Latest()
	stop() // a graceful stop writes what is left
	points, err := s1.DensityPoints(context.Background(), store.HistoryFilter{ZoneID: "hall", From: 0, To: t0.Add(time.Hour).UnixMilli()})
	if err != nil || len(points) != 20 {
		t.Fatalf("stored hall points = %d, %v; want every one of the 20 readings", len(points), err)
	}
	minutes, err := s1.DensityMinutes(context.Background(), store.HistoryFilter{ZoneID: "hall", From: 0, To: t0.Add(time.Hour).UnixMilli()})
	if n := sumCounts(minutes); err != nil || n != 20 {
		t.Fatalf("hall minutes count %d readings, %v; want 20", n, err)
	}
	s1.Close()

	g, _ := openHistory(t, path, c, nil, HistoryOptions{})
	got := map[string]crowd.DensityReading{}
	for _, r := range g.eng.Latest() {
		got[r.ZoneID] = r
	}
	for _, want := range last {
		r, ok := got[want.ZoneID]
		if !ok {
			t.Fatalf("zone %s has no reading after the restart", want.ZoneID)
		}
		if r.Timestamp != want.Timestamp || r.Density != want.Density || r.Smoothed != want.Smoothed || r.Level != want.Level {
			t.Errorf("zone %s after restart = %+v; want the values of %+v", want.ZoneID, r, want)
		}
		if !r.NoData || r.Sensors != 0 {
			t.Errorf("zone %s after restart: noData %v, sensors %d; want no data until it reports", want.ZoneID, r.NoData, r.Sensors)
		}
	}
	if got["hall"].Level != crowd.Warning {
		t.Errorf("hall level after restart = %v; want warning", got["hall"].Level)
	}
	if evs := g.eng.DensityStateEvents(); len(evs) != 2 || evs[0].ID != 0 || evs[0].StateKey == "" {
		t.Errorf("density state events = %v; want two snapshot events", evs)
	}
	// The next reading is live again.
	g.feed(t, "hall", 4.2, 1)
	for _, r := range g.eng.Latest() {
		if r.ZoneID == "hall" && (r.NoData || r.Sensors != 1) {
			t.Errorf("hall after a new reading = %+v; want live", r)
		}
	}
	// No "no data" incident for a zone that merely restarted.
	g.eng.tick(context.Background())
	ins, _ := g.store.Incidents(context.Background(), store.IncidentFilter{})
	for _, in := range ins {
		if in.Kind == crowd.IncidentLevel && in.Timestamp > c.now().Add(-time.Second).UnixMilli() {
			t.Errorf("incident after restart: %+v", in)
		}
	}
}

func sumCounts(ms []store.DensityMinute) int {
	n := 0
	for _, m := range ms {
		n += m.Count
	}
	return n
}

// historyDown fails every history write and counts the attempts; commits
// go through.
type historyDown struct {
	store.Store
	writes atomic.Int64
	block  chan struct{} // when set, a write waits for it (a hung store)
}

func (s *historyDown) WriteHistory(ctx context.Context, b store.HistoryBatch) error {
	s.writes.Add(1)
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
		}
	}
	return errors.New("disk full")
}

// TestHistoryStoreDownNeverBlocksIngest: with history writes failing (or
// hanging), readings are judged, alerts raised and committed as usual, and
// the dropped points are counted.
func TestHistoryStoreDownNeverBlocksIngest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crowdrisk.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	down := &historyDown{Store: s, block: make(chan struct{})}
	f, obs := openHistory(t, path, &clock{t: t0}, down, HistoryOptions{})
	stop := run(f.eng)
	defer stop()
	waitFor(t, "a history write to hang", func() bool { f.feed(t, "hall", 1, 1); return down.writes.Load() > 0 })
	start := time.Now()
	f.feed(t, "hall", 5.0, 40) // critical: an alert after its dwell
	if d := time.Since(start); d > time.Second {
		t.Errorf("40 readings took %v while the history write hangs", d)
	}
	if open, _ := s.Alerts(context.Background(), store.AlertFilter{Open: true}); len(open) == 0 {
		t.Error("no alert committed while the history store is down")
	}
	close(down.block) // the hung write fails now; the next ones fail at once
	waitFor(t, "dropped points counted", func() bool { return obs.dropped.Load() >= 41 })
}

// TestHistoryBufferBound: beyond MaxPending readings waiting, points are
// dropped and counted, while the minute aggregates and the latest reading
// still take every reading.
func TestHistoryBufferBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crowdrisk.db")
	f, obs := openHistory(t, path, &clock{t: t0}, nil, HistoryOptions{MaxPending: 5, FlushEvery: time.Hour})
	f.feed(t, "hall", 1, 12)
	w := &historyWriter{opts: f.eng.hopts, store: f.store, buf: f.eng.hist, log: f.eng.log, obs: obs, now: f.clock.now}
	w.flush(context.Background())
	if got := obs.dropped.Load(); got != 7 {
		t.Errorf("dropped = %d; want 7", got)
	}
	all := store.HistoryFilter{ZoneID: "hall", From: 0, To: t0.Add(time.Hour).UnixMilli()}
	if ps, _ := f.store.DensityPoints(context.Background(), all); len(ps) != 5 {
		t.Errorf("points stored = %d; want the first 5", len(ps))
	}
	if ms, _ := f.store.DensityMinutes(context.Background(), all); sumCounts(ms) != 12 {
		t.Errorf("minutes count %d readings; want all 12", sumCounts(ms))
	}
	latest, _ := f.store.LatestReadings(context.Background())
	if len(latest) != 1 || latest[0].Timestamp != f.clock.now().UnixMilli() {
		t.Errorf("latest = %+v; want the 12th reading", latest)
	}
}

// TestHistoryPrune: the writer deletes points older than Raw and minute
// rows older than Keep, by the engine's clock.
func TestHistoryPrune(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crowdrisk.db")
	c := &clock{t: t0}
	f, obs := openHistory(t, path, c, nil, HistoryOptions{Raw: time.Minute, Keep: 10 * time.Minute, FlushEvery: time.Hour})
	w := &historyWriter{opts: f.eng.hopts, store: f.store, buf: f.eng.hist, log: f.eng.log, obs: obs, now: c.now}
	f.feed(t, "hall", 1, 3)
	w.flush(context.Background())
	c.add(5 * time.Minute)
	f.feed(t, "hall", 2, 1)
	w.flush(context.Background())
	w.prune(context.Background())
	all := store.HistoryFilter{ZoneID: "hall", From: 0, To: c.now().Add(time.Hour).UnixMilli()}
	if ps, _ := f.store.DensityPoints(context.Background(), all); len(ps) != 1 || ps[0].Density != 2 {
		t.Errorf("points after prune = %+v; want the newest alone", ps)
	}
	if ms, _ := f.store.DensityMinutes(context.Background(), all); sumCounts(ms) != 4 {
		t.Errorf("minutes after prune count %d; want all 4 (within Keep)", sumCounts(ms))
	}
	c.add(20 * time.Minute)
	w.prune(context.Background())
	if ms, _ := f.store.DensityMinutes(context.Background(), all); len(ms) != 0 {
		t.Errorf("minutes after Keep = %+v; want none", ms)
	}
}

// TestStoredDensityStateEvents: a follower's hub is seeded with each venue
// zone's last stored reading, marked as no data; zones no longer in the
// venue are left out.
func TestStoredDensityStateEvents(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "crowdrisk.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.WriteHistory(context.Background(), store.HistoryBatch{Latest: []crowd.DensityReading{
		{ZoneID: "hall", Density: 4.2, Smoothed: 4.1, Level: crowd.Warning, Timestamp: t0.UnixMilli(), Sensors: 2},
		{ZoneID: "gone", Density: 1, Timestamp: t0.UnixMilli()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := StoredDensityStateEvents(context.Background(), s, testVenue())
	if err != nil || len(evs) != 1 {
		t.Fatalf("events = %v, %v; want hall's alone", evs, err)
	}
	e := evs[0]
	want := `{"type":"density","data":{"zoneId":"hall","density":4.2,"smoothed":4.1,"level":"warning","occupancy":0,"trend":0,"timestamp":1764270000000,"sensors":0,"noData":true}}`
	if e.ID != 0 || e.StateKey != "zone:hall" || e.Topic != event.TopicDensity || string(e.Data) != want {
		t.Errorf("event = id %v key %q topic %v data %s", e.ID, e.StateKey, e.Topic, e.Data)
	}
}
