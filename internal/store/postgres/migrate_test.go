package postgres

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func count(t *testing.T, c *pgx.Conn, q string) int {
	t.Helper()
	var n int
	if err := c.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestFailedMigrationRollsBack(t *testing.T) {
	c := connect(t, testenv.Postgres(t))
	fsys := fstest.MapFS{
		"migrations/001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"migrations/002_b.sql": {Data: []byte("CREATE TABLE b (x INTEGER); INSERT INTO no_such_table VALUES (1);")},
	}
	err := migrate(context.Background(), c, fsys)
	if err == nil || !strings.Contains(err.Error(), "002_b.sql") {
		t.Fatalf("migrate = %v; want an error naming 002_b.sql", err)
	}
	if n := count(t, c, "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'b'"); n != 0 {
		t.Fatal("table b of the failed migration exists")
	}
	if n := count(t, c, "SELECT MAX(version) FROM schema_migrations"); n != 1 {
		t.Fatalf("recorded version %d; want 1", n)
	}
	// The advisory lock was released despite the failure: a second
	// migration on another session does not wait for it.
	other := connect(t, c.Config().ConnString())
	var got bool
	if err := other.QueryRow(context.Background(), "SELECT pg_try_advisory_lock($1)", migrationLock).Scan(&got); err != nil || !got {
		t.Fatalf("migration lock still held after a failed migration (%v)", err)
	}
}

// Engines that start at once on one empty database all open it; the schema
// is created exactly once.
func TestConcurrentOpen(t *testing.T) {
	url := testenv.Postgres(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), url)
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent open: %v", err)
	}
	embedded, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if got := count(t, connect(t, url), "SELECT COUNT(*) FROM schema_migrations"); got != len(embedded) {
		t.Fatalf("%d migrations recorded; want %d", got, len(embedded))
	}
}
