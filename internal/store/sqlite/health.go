package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Store loss. SQLite keeps working on the file it has open whatever happens
// to the directory: deleted, its commits go to an inode nobody will ever
// open again; replaced, they go to the old file while a restart reads the
// new one. Both would be silent losses, so every commit first checks that
// the path still names the open file, and Ping (the engine's periodic check
// and /readyz) also runs quick_check and a small write, which a full disk,
// a read-only file system or a corrupted page refuses.

// quickCheckEvery bounds how often Ping reads the whole b-tree structure
// (cheap for this store's size, but /readyz may be polled every second).
// After a failure it runs on every Ping, so recovery is seen at once.
const quickCheckEvery = 10 * time.Second

// checkFile makes sure the path still names the open file. A deleted file
// is restored from the open connection (nothing is lost: its pages are
// still readable through it) and the pools reopened on the copy.
func (s *Store) checkFile(ctx context.Context) error {
	id, err := identify(s.path)
	s.mu.RLock()
	open := s.id
	s.mu.RUnlock()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if rerr := s.restore(ctx); rerr != nil {
			return fmt.Errorf("sqlite: database file %s deleted, and restoring it from the open copy failed: %w", s.path, rerr)
		}
		return nil
	case err != nil:
		return fmt.Errorf("sqlite: database file %s: %w", s.path, err)
	case id != open:
		return fmt.Errorf("sqlite: database file %s replaced by another file: put the original back, or restart to use the new one", s.path)
	}
	return nil
}

// restore writes the open database to a new file at the path (VACUUM INTO
// reads it through the writer, WAL included), then swaps the pools onto it.
// Closing the old pools checkpoints into the deleted inode and removes the
// old -wal and -shm files, which must not be replayed onto the new file;
// only then is the copy moved into place.
func (s *Store) restore(ctx context.Context) error {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	if _, err := os.Stat(s.path); err == nil {
		return nil // another caller restored it meanwhile
	}
	tmp := s.path + ".restore"
	_ = os.Remove(tmp)
	if _, err := s.wr().ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	err := s.reopen(ctx, func() error { return os.Rename(tmp, s.path) })
	if err != nil {
		return err
	}
	slog.Default().Error("sqlite: the database file was deleted while open; restored it from the open copy", "path", s.path)
	return nil
}

// reopen closes both pools, runs between (if set), and opens them afresh on
// the path. If that fails the closed pools stay: every call fails with
// "database is closed" (not ready) until a later check reopens them.
func (s *Store) reopen(ctx context.Context, between func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	closeErr := errors.Join(s.read.Close(), s.write.Close())
	if between != nil {
		if err := between(); err != nil {
			return errors.Join(err, closeErr)
		}
	}
	write, read, err := openPools(ctx, s.path)
	if err != nil {
		return err
	}
	id, err := identify(s.path)
	if err != nil {
		write.Close()
		read.Close()
		return err
	}
	s.write, s.read, s.id = write, read, id
	return nil
}

// Ping checks that the file is still the open one, still sound and still
// writable (for /readyz and the engine's periodic check).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.checkFile(ctx); err != nil {
		return err
	}
	s.checkMu.Lock()
	due, failed := time.Since(s.quickAt) >= quickCheckEvery, s.failed
	s.checkMu.Unlock()
	if failed {
		// Each connection caches the pages it read, the damaged ones too:
		// only fresh connections show whether the file was repaired.
		if err := s.reopen(ctx, nil); err != nil {
			return fmt.Errorf("sqlite: reopening after a failed check: %w", err)
		}
	}
	if due || failed {
		if err := s.quickCheck(ctx); err != nil {
			return err
		}
	}
	if _, err := s.wr().ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('ping', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, time.Now().UnixMilli()); err != nil {
		// A connection opened while the file system was read-only stays
		// read-only after it is writable again: reopen at the next check.
		s.setFailed(true)
		return fmt.Errorf("sqlite: write check: %w", explain(s.path, err))
	}
	return nil
}

func (s *Store) setFailed(v bool) {
	s.checkMu.Lock()
	s.failed = v
	s.checkMu.Unlock()
}

func (s *Store) quickCheck(ctx context.Context) error {
	rows, err := s.rd().QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return s.corrupted(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return s.corrupted(err)
		}
		if line != "ok" && len(problems) < 3 {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return s.corrupted(err)
	}
	if len(problems) > 0 {
		s.setFailed(true)
		return fmt.Errorf("sqlite: database corrupted (quick_check: %v)", problems)
	}
	s.checkMu.Lock()
	s.quickAt, s.failed = time.Now(), false
	s.checkMu.Unlock()
	return nil
}

// corrupted names a quick_check that could not even run for the damage it
// found ("database disk image is malformed", "file is not a database").
func (s *Store) corrupted(err error) error {
	s.setFailed(true)
	if msg := err.Error(); strings.Contains(msg, "malformed") || strings.Contains(msg, "not a database") {
		return fmt.Errorf("sqlite: database corrupted: %w", err)
	}
	return fmt.Errorf("sqlite: quick_check: %w", err)
}
