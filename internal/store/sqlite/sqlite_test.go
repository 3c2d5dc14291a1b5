package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

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
