package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
	"github.com/crowdrisk/crowdrisk/internal/store/storetest"
)

// files gives each test its own database file, the same one for every
// open within that test (the suite's reopen contract).
type files struct {
	mu    sync.Mutex
	paths map[*testing.T]string
}

func (f *files) open(t *testing.T) store.Store {
	t.Helper()
	f.mu.Lock()
	path, ok := f.paths[t]
	if !ok {
		path = filepath.Join(t.TempDir(), "crowdrisk.db")
		f.paths[t] = path
	}
	f.mu.Unlock()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	f := &files{paths: map[*testing.T]string{}}
	storetest.Run(t, f.open)
}

// Two stores on one file stand for two processes (an engine and a replay
// tool): the busy timeout makes their writers take turns instead of
// failing with SQLITE_BUSY.
func TestTwoStoresShareAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	ctx := context.Background()
	var stores [2]*sqlite.Store
	for i := range stores {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	const perStore = 30
	var wg sync.WaitGroup
	errs := make(chan error, 2*perStore)
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perStore {
				in := crowd.Incident{Timestamp: int64(j), Kind: crowd.IncidentTest, Message: fmt.Sprintf("store %d #%d", i, j)}
				if err := s.Commit(ctx, store.Batch{Incidents: []crowd.Incident{in}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("commit: %v", err)
	}
	ins, err := stores[0].Incidents(ctx, store.IncidentFilter{})
	if err != nil || len(ins) != 2*perStore {
		t.Fatalf("incidents = %d, %v; want %d", len(ins), err, 2*perStore)
	}
}

func TestOpenFailsOnAMissingDirectory(t *testing.T) {
	_, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"))
	if err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
}
