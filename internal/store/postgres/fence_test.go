package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlrow"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// TestPausedLeaderCannotStallCommits (issue 12): a leader stopped in the
// middle of a commit holds the fence row in its open transaction. The new
// leader's commits must go through within seconds (lock_timeout and
// idle_in_transaction_session_timeout end the wait and the paused
// transaction), and the paused one's transaction can then never commit.
func TestPausedLeaderCannotStallCommits(t *testing.T) {
	url := testenv.Postgres(t)
	next := openTest(t, url, pingAfterIdle)
	ctx := testCtx(t)
	// The old leader (token 1) commits once, then is "paused" inside its
	// next commit: its session holds the fence row and waits.
	if err := next.Commit(ctx, store.Batch{Fence: 1, Incidents: []crowd.Incident{{Timestamp: 1, Kind: crowd.IncidentTest, Message: "old leader"}}}); err != nil {
		t.Fatal(err)
	}
	cfg, err := poolConfig(url, pingAfterIdle)
	if err != nil {
		t.Fatal(err)
	}
	paused, err := pgx.ConnectConfig(ctx, cfg.ConnConfig) // the same session settings as a store's
	if err != nil {
		t.Fatal(err)
	}
	defer paused.Close(context.Background())
	tx, err := paused.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kept int64
	if err := tx.QueryRow(ctx, fenceSQL, sqlrow.FenceKey, int64(1)).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO incidents (ts, kind, message) VALUES (2, 'test', 'paused leader')`); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	var lastErr error
	for time.Since(start) < 10*time.Second {
		lastErr = next.Commit(ctx, store.Batch{Fence: 2, Incidents: []crowd.Incident{{Timestamp: 3, Kind: crowd.IncidentTest, Message: "new leader"}}})
		if lastErr == nil {
			break
		}
	}
	took := time.Since(start)
	if lastErr != nil {
		t.Fatalf("the new leader could not commit for 10 s: %v", lastErr)
	}
	t.Logf("the new leader committed %s after the old one paused", took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("the paused leader stalled commits for %s; the session timeouts promise about 3 s", took)
	}
	if err := tx.Commit(ctx); err == nil {
		t.Fatal("the paused leader's transaction committed after its successor's")
	}
	// And the old token is fenced for good.
	if err := next.Commit(ctx, store.Batch{Fence: 1, Incidents: []crowd.Incident{{Timestamp: 4, Kind: crowd.IncidentTest, Message: "old again"}}}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("the old token after the takeover: %v", err)
	}
	ins, err := next.Incidents(ctx, store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, in := range ins {
		msgs = append(msgs, in.Message)
	}
	if len(msgs) != 2 || msgs[0] != "old leader" || msgs[1] != "new leader" {
		t.Fatalf("incidents %q, want the old leader's first commit and the new leader's", msgs)
	}
}
