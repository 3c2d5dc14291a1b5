package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/postgres"
	"github.com/crowdrisk/crowdrisk/internal/store/storetest"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// databases gives each test its own database on the shared test cluster,
// the same one for every open within that test (the suite's reopen).
type databases struct {
	mu   sync.Mutex
	urls map[*testing.T]string
}

func (d *databases) url(t *testing.T) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.urls[t]
	if !ok {
		u = testenv.Postgres(t)
		d.urls[t] = u
	}
	return u
}

func (d *databases) open(t *testing.T) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), d.url(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	d := &databases{urls: map[*testing.T]string{}}
	storetest.Run(t, d.open)
}

// A restart of PostgreSQL under an open store: the calls during the outage
// fail, and the store recovers by itself once the server is back (its
// pooled connections are found dead and replaced).
func TestSurvivesServerRestart(t *testing.T) {
	srv := testenv.StartPostgres(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, srv.CreateDatabase(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	commit := func() error {
		return s.Commit(ctx, store.Batch{Incidents: []crowd.Incident{{Timestamp: 1, Kind: crowd.IncidentTest, Message: "m"}}})
	}
	if err := commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	srv.Stop()
	if err := s.Ping(ctx); err == nil {
		t.Fatal("ping succeeded with the server stopped")
	}
	srv.Start(t)
	// At most one call may fail on a connection that died with the old
	// server; after that the pool has replaced it.
	var lastErr error
	for range 3 {
		if lastErr = commit(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("commit after restart: %v", lastErr)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
	ins, err := s.Incidents(ctx, store.IncidentFilter{})
	if err != nil || len(ins) != 2 {
		t.Fatalf("incidents after restart = %v, %v; want 2", ins, err)
	}
}
