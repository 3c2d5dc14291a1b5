// Package sqlite is the embedded store: one SQLite file through the pure-Go
// modernc.org/sqlite driver, so the engine needs no cgo and no server.
//
// SQLite allows one writer at a time. The store therefore keeps two pools on
// the same file: a single-connection writer (every Commit and prune queues
// on it in Go instead of failing with SQLITE_BUSY) and a small pool of
// read-only connections that WAL mode lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"sync"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/store"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ store.Store = (*Store)(nil)

// busyTimeoutMs is how long a connection waits for a lock held by another
// process (a second engine on the same file, the sqlite3 shell) before
// failing. Within one Store the single writer makes waits rare.
const busyTimeoutMs = 10000

// Store is a store.Store on a SQLite file. It is safe for concurrent use.
type Store struct {
	path string

	mu    sync.RWMutex // guards the pools and id, swapped when a deleted file is restored
	write *sql.DB      // exactly one connection: SQLite's single writer
	read  *sql.DB      // read-only connections for queries
	id    fileID       // the file the pools have open (health.go)

	checkMu sync.Mutex // one deep check or restore at a time
	quickAt time.Time  // last passed quick_check
	failed  bool       // the last quick_check failed: reopen before the next
}

func (s *Store) rd() *sql.DB { s.mu.RLock(); defer s.mu.RUnlock(); return s.read }
func (s *Store) wr() *sql.DB { s.mu.RLock(); defer s.mu.RUnlock(); return s.write }

// Open opens (creating if needed) the database file at path and brings its
// schema up to date. Opening an up-to-date file changes nothing.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	write, read, err := openPools(ctx, path)
	if err != nil {
		return nil, err
	}
	id, err := identify(path)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return &Store{path: path, write: write, read: read, id: id}, nil
}

// openPools opens the writer (migrating the file) and the readers.
func openPools(ctx context.Context, path string) (write, read *sql.DB, err error) {
	write, err = sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// The writer switches the file to WAL (a property of the file) and
	// migrates it before any reader exists, so readers never see a
	// half-built schema.
	if err := migrate(ctx, write, migrationFiles); err != nil {
		write.Close()
		return nil, nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	read, err = sql.Open("sqlite", dsn(path, true))
	if err != nil {
		write.Close()
		return nil, nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return write, read, nil
}

// dsn builds the connection string. Pragmas are per connection, so they go
// in the DSN and the driver applies them to every connection it opens.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMs))
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		// query_only rather than mode=ro: a read-only open cannot create
		// the WAL index if the writer has not yet, and fails instead.
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		// FULL: a committed alert survives a power cut, not only a crash
		// of the process. Alerts are few; the fsync per commit is cheap
		// next to the promise that nothing broadcast is ever lost.
		q.Add("_pragma", "synchronous(FULL)")
		// Take the write lock at BEGIN, so a transaction never fails
		// half-way when another process holds the lock.
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close closes both pools. The WAL is checkpointed by SQLite when the last
// connection closes.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.read.Close(), s.write.Close())
}
