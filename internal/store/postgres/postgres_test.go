package postgres_test

import (
	"context"
	"sync"
	"testing"

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
