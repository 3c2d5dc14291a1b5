package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/postgres"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// TestOnlyTheLeaderWritesHistory: the leader engine's store writes density
// history while its lease holds, and refuses once it may have expired (a
// deposed leader's last buffered second is not written beside its
// successor's), on the shared PostgreSQL store.
func TestOnlyTheLeaderWritesHistory(t *testing.T) {
	ctx := context.Background()
	pg, err := postgres.Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	l := &leadership{now: time.Now}
	l.extend(time.Now().Add(time.Minute))
	fs := fencedStore{Store: pg, lead: l}
	point := func(at int64) store.HistoryBatch {
		return store.HistoryBatch{Points: []store.DensityPoint{{ZoneID: "hall", At: at, Density: 1}}}
	}
	if err := fs.WriteHistory(ctx, point(1_000)); err != nil {
		t.Fatalf("leader's history write: %v", err)
	}
	l.extend(time.Time{}) // the lease may have expired
	if err := fs.WriteHistory(ctx, point(2_000)); !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("deposed leader's history write = %v; want ErrFenced", err)
	}
	got, err := pg.DensityPoints(ctx, store.HistoryFilter{ZoneID: "hall", From: 0, To: 10_000})
	if err != nil || len(got) != 1 || got[0].At != 1_000 {
		t.Fatalf("stored points = %+v, %v; want the leader's alone", got, err)
	}
}
