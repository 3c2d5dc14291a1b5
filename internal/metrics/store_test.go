package metrics

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

type nopPublisher struct{}

func (nopPublisher) Publish(...*event.Event) {}

// TestStoreSeriesFollowAFullDisk: a real engine on a SQLite file in a small
// tmpfs; filling the disk makes the degraded gauge 1, counts the refused
// commits and the waiting batch; freeing it brings both gauges back to 0.
func TestStoreSeriesFollowAFullDisk(t *testing.T) {
	dir := testenv.Tmpfs(t, 4<<20)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "crowdrisk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m := New(Options{})
	now := time.UnixMilli(1_764_270_000_000)
	clock := func() time.Time { return now }
	zone := crowd.Zone{ID: "hall", Name: "Hall", Kind: crowd.Standing, AreaM2: 100, Capacity: 600}.WithDefaults()
	eng, err := engine.New(ctx, engine.Options{Venue: crowd.Venue{Name: "t", Zones: []crowd.Zone{zone}}, Store: s,
		Publisher: nopPublisher{}, Sequencer: event.NewSequencer(0, clock), Now: clock, Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	free := testenv.Fill(t, dir)
	for i := range 60 { // critical for a standing zone, past its dwell
		now = now.Add(time.Second)
		ts := now.UnixMilli()
		d := 5.0
		if i < 5 {
			d = 0.5
		}
		if _, err := eng.Ingest(ctx, []crowd.ReadingInput{{ZoneID: "hall", Density: &d, Timestamp: &ts}}); err != nil {
			t.Fatal(err)
		}
	}
	fams := scrape(t, srv.URL)
	if v := value(t, fams, "crowdrisk_store_degraded", nil); v != 1 {
		t.Fatalf("degraded = %v on a full disk", v)
	}
	if v := value(t, fams, "crowdrisk_store_outbox_batches", nil); v < 1 {
		t.Fatalf("outbox = %v", v)
	}
	if v := value(t, fams, "crowdrisk_store_commit_failures_total", nil); v < 1 {
		t.Fatalf("commit failures = %v", v)
	}
	free()
	run, stop := context.WithCancel(ctx)
	defer stop()
	go eng.Run(run) // its ticks drain the outbox
	deadline := time.Now().Add(10 * time.Second)
	for eng.Ready(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("not ready 10 s after the disk has room: %v", eng.Ready(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
	fams = scrape(t, srv.URL)
	if v := value(t, fams, "crowdrisk_store_degraded", nil); v != 0 {
		t.Fatalf("degraded = %v after recovery", v)
	}
	if v := value(t, fams, "crowdrisk_store_outbox_batches", nil); v != 0 {
		t.Fatalf("outbox = %v after recovery", v)
	}
}
