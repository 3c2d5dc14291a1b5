package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// A migration that fails half-way leaves the file at the previous version:
// its first statement is rolled back with it, and nothing is recorded.
func TestFailedMigrationRollsBack(t *testing.T) {
	db := openRaw(t, filepath.Join(t.TempDir(), "m.db"))
	fsys := fstest.MapFS{
		"migrations/001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"migrations/002_b.sql": {Data: []byte("CREATE TABLE b (x INTEGER); INSERT INTO no_such_table VALUES (1);")},
	}
	err := migrate(context.Background(), db, fsys)
	if err == nil || !strings.Contains(err.Error(), "002_b.sql") {
		t.Fatalf("migrate = %v; want an error naming 002_b.sql", err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'b'"); n != 0 {
		t.Fatal("table b of the failed migration exists")
	}
	if n := count(t, db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'a'"); n != 1 {
		t.Fatal("table a of the good migration is missing")
	}
	if n := count(t, db, "SELECT MAX(version) FROM schema_migrations"); n != 1 {
		t.Fatalf("recorded version %d; want 1", n)
	}
	// Fixed, it applies on the next start, and only the missing part runs.
	fsys["migrations/002_b.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE b (x INTEGER);")}
	if err := migrate(context.Background(), db, fsys); err != nil {
		t.Fatalf("migrate after the fix: %v", err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM schema_migrations"); n != 2 {
		t.Fatalf("%d migrations recorded; want 2", n)
	}
}

func TestMigrationNamesAreChecked(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number": {"migrations/init.sql": {Data: []byte("SELECT 1;")}},
		"duplicate": {
			"migrations/001_a.sql": {Data: []byte("SELECT 1;")},
			"migrations/001_b.sql": {Data: []byte("SELECT 1;")},
		},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations accepted it", name)
		}
	}
}

// Opening an up-to-date file is a no-op; the file is in WAL mode.
func TestReopenIsANoOp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crowdrisk.db")
	for range 3 {
		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		s.Close()
	}
	db := openRaw(t, path)
	embedded, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM schema_migrations"); n != len(embedded) {
		t.Fatalf("%d migrations recorded after three opens; want %d", n, len(embedded))
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
}
