package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// testCtx bounds a test's calls, so a hang fails instead of stalling.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func openTest(t *testing.T, url string, pingIdle time.Duration) *Store {
	t.Helper()
	s, err := open(testCtx(t), url, pingIdle)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fillPool opens every connection the pool may hold and returns them to it
// idle, so that a dead pool is one where every connection is dead.
func fillPool(t *testing.T, s *Store) {
	t.Helper()
	var held []*pgxpool.Conn
	for range s.pool.Config().MaxConns {
		c, err := s.pool.Acquire(testCtx(t))
		if err != nil {
			t.Fatalf("acquire: %v", err)
		}
		held = append(held, c)
	}
	for _, c := range held {
		c.Release()
	}
}

// endSessions ends every other session on the database that matches
// where, as a server restart or an administrator would, and waits until
// they are gone.
func endSessions(t *testing.T, admin *pgx.Conn, where string) {
	t.Helper()
	ctx := testCtx(t)
	rows, err := admin.Query(ctx, `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND `+where)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(pids) == 0 {
		t.Fatalf("sessions matching %q: %v, %v", where, pids, err)
	}
	for _, pid := range pids {
		var ended bool
		if err := admin.QueryRow(ctx, "SELECT pg_terminate_backend($1, 5000)", pid).Scan(&ended); err != nil || !ended {
			t.Fatalf("end session %d: %v, %v", pid, ended, err)
		}
	}
}

func incident(msg string) store.Batch {
	return store.Batch{Incidents: []crowd.Incident{{Timestamp: 1, Kind: crowd.IncidentTest, Message: msg}}}
}

// Every call meets a pool of connections that all died since their last
// use, too recently for pgxpool's ping after idle (turned off here): each
// call still succeeds at the first try, on a fresh connection.
func TestCallsSurviveDeadPool(t *testing.T) {
	url := testenv.Postgres(t)
	s := openTest(t, url, time.Hour)
	admin := connect(t, url)
	ctx := testCtx(t)
	if err := s.Commit(ctx, store.Batch{
		Alerts: []crowd.Alert{{ID: "a1", ZoneID: "z", Level: crowd.Warning, Kind: "density", Status: crowd.StatusActive}},
		Events: []store.StoredEvent{{ID: event.ID(1 << 22), Topic: "alerts", Type: "alert", At: time.UnixMilli(1)}},
	}); err != nil {
		t.Fatalf("commit: %v", err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"Alerts", func() error {
			as, err := s.Alerts(ctx, store.AlertFilter{})
			if err == nil && len(as) != 1 {
				t.Errorf("Alerts = %d alerts; want 1", len(as))
			}
			return err
		}},
		{"Alert", func() error { _, err := s.Alert(ctx, "a1"); return err }},
		{"Emergency", func() error { _, err := s.Emergency(ctx); return err }},
		{"LastEventID", func() error { _, err := s.LastEventID(ctx); return err }},
		{"EventsAfter", func() error {
			evs, _, err := s.EventsAfter(ctx, 0, 0, 0)
			if err == nil && len(evs) != 1 {
				t.Errorf("EventsAfter = %d events; want 1", len(evs))
			}
			return err
		}},
		{"Incidents", func() error { _, err := s.Incidents(ctx, store.IncidentFilter{}); return err }},
		{"Commit", func() error { return s.Commit(ctx, incident("after the sessions ended")) }},
		{"PruneEvents", func() error { return s.PruneEvents(ctx, time.Time{}, 10) }},
	}
	for _, c := range calls {
		fillPool(t, s)
		endSessions(t, admin, "TRUE")
		if err := c.call(); err != nil {
			t.Errorf("%s on a dead pool: %v", c.name, err)
		}
	}
	if n := count(t, admin, "SELECT COUNT(*) FROM incidents"); n != 1 {
		t.Errorf("%d incidents stored; want the one commit once", n)
	}
}

// A commit whose session ends while it waits for the commit lock has sent
// no COMMIT, so it cannot have committed: it is run again, and stored once.
func TestCommitRetriedWhenLostBeforeCommit(t *testing.T) {
	url := testenv.Postgres(t)
	s := openTest(t, url, pingAfterIdle)
	admin := connect(t, url)
	ctx := testCtx(t)
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", commitLock); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Commit(ctx, incident("m")) }()
	waitFor(t, admin, "wait_event = 'advisory'")
	endSessions(t, admin, "wait_event = 'advisory'")
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_unlock($1)", commitLock); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("commit: %v", err)
	}
	if n := count(t, admin, "SELECT COUNT(*) FROM incidents"); n != 1 {
		t.Fatalf("%d incidents stored; want 1", n)
	}
}

// stallCommits makes every COMMIT that stores an incident wait for a lock
// the returned function releases: a deferred trigger runs inside COMMIT,
// so the test can end the session in the middle of it.
func stallCommits(t *testing.T, admin *pgx.Conn) (release func()) {
	t.Helper()
	if _, err := admin.Exec(testCtx(t), `
		CREATE FUNCTION stall_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_advisory_xact_lock(42); RETURN NULL; END $$;
		CREATE CONSTRAINT TRIGGER stall_commit AFTER INSERT ON incidents
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION stall_commit();
		SELECT pg_advisory_lock(42);`); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := admin.Exec(testCtx(t), "SELECT pg_advisory_unlock(42)"); err != nil {
			t.Fatal(err)
		}
	}
}

const inCommit = "wait_event = 'advisory' AND query ILIKE 'commit%'"

// A commit whose session ends while COMMIT runs may or may not have
// committed (here it did not). A batch without events cannot be told
// apart from a copy of itself, so it is never run a second time, and the
// caller is told the outcome is unknown.
func TestCommitNotRepeatedWhenLostDuringCommit(t *testing.T) {
	url := testenv.Postgres(t)
	s := openTest(t, url, pingAfterIdle)
	admin := connect(t, url)
	release := stallCommits(t, admin)
	done := make(chan error, 1)
	go func() { done <- s.Commit(testCtx(t), incident("m")) }()
	waitFor(t, admin, inCommit)
	endSessions(t, admin, inCommit)
	// Released, a second run of the commit would go through and store the
	// incident; the first one is gone with its session.
	release()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "may or may not have committed") {
		t.Fatalf("commit = %v; want an error saying the outcome is unknown", err)
	}
	if n := count(t, admin, "SELECT COUNT(*) FROM incidents"); n != 0 {
		t.Fatalf("%d incidents stored; want 0 (the commit was run again)", n)
	}
}

// A batch with events is idempotent, so one whose session ends during
// COMMIT runs again and is stored once.
func TestEventBatchRunsAgainWhenLostDuringCommit(t *testing.T) {
	url := testenv.Postgres(t)
	s := openTest(t, url, pingAfterIdle)
	admin := connect(t, url)
	release := stallCommits(t, admin)
	b := incident("m")
	b.Events = []store.StoredEvent{{ID: event.ID(1 << 22), Topic: "alerts", Type: "alert", At: time.UnixMilli(1)}}
	done := make(chan error, 1)
	go func() { done <- s.Commit(testCtx(t), b) }()
	waitFor(t, admin, inCommit)
	endSessions(t, admin, inCommit)
	release() // the second run stalls in its COMMIT until now
	if err := <-done; err != nil {
		t.Fatalf("commit: %v", err)
	}
	if n := count(t, admin, "SELECT COUNT(*) FROM incidents") + count(t, admin, "SELECT COUNT(*) FROM events"); n != 2 {
		t.Fatalf("%d incidents and events stored; want one of each", n)
	}
}

// Committing a stored batch with events again succeeds and stores nothing
// more; a batch with only some of its events stored is refused.
func TestEventBatchIdempotent(t *testing.T) {
	url := testenv.Postgres(t)
	s := openTest(t, url, pingAfterIdle)
	admin := connect(t, url)
	ctx := testCtx(t)
	ev := func(seq uint64) store.StoredEvent {
		return store.StoredEvent{ID: event.ID(1<<22 + seq), Topic: "alerts", Type: "alert", At: time.UnixMilli(1)}
	}
	b := incident("m")
	b.Alerts = []crowd.Alert{{ID: "a1", ZoneID: "z", Level: crowd.Warning, Kind: "density", Status: crowd.StatusActive}}
	b.Events = []store.StoredEvent{ev(1), ev(2)}
	for i := range 2 {
		if err := s.Commit(ctx, b); err != nil {
			t.Fatalf("commit %d: %v", i+1, err)
		}
	}
	if n := count(t, admin, "SELECT COUNT(*) FROM incidents"); n != 1 {
		t.Fatalf("%d incidents after committing the batch twice; want 1", n)
	}
	partly := incident("other")
	partly.Events = []store.StoredEvent{ev(2), ev(3)}
	if err := s.Commit(ctx, partly); err == nil {
		t.Fatal("commit of a batch reusing a stored event id succeeded")
	}
	if n := count(t, admin, "SELECT COUNT(*) FROM incidents"); n != 1 {
		t.Fatalf("%d incidents after the refused batch; want 1", n)
	}
}

// waitFor waits until another session on the database matches where.
func waitFor(t *testing.T, admin *pgx.Conn, where string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for count(t, admin, `SELECT COUNT(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND `+where) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no session came to %q", where)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
