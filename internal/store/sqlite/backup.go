package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// BackupSummary is what a backup holds, checked in the copy itself.
type BackupSummary struct {
	Bytes     int64
	Migration int // the newest schema migration applied
	Alerts    int
	Events    int
	Incidents int
}

// Backup writes a consistent copy of the database at path to out, while an
// engine may be running on it: SQLite's VACUUM INTO reads one snapshot (WAL
// lets the engine go on committing meanwhile) and writes a compact file with
// no WAL of its own, which is what a restore needs. The copy is written
// beside out and renamed into place only after an integrity check passed,
// so out is either a whole, checked backup or absent. It refuses to
// overwrite out, and never migrates or otherwise changes the database at
// path (a newer binary than the engine's must not upgrade a live file).
func Backup(ctx context.Context, path, out string) (BackupSummary, error) {
	var sum BackupSummary
	if _, err := os.Stat(path); err != nil {
		return sum, fmt.Errorf("no database to back up: %w", err)
	}
	if _, err := os.Stat(out); err == nil {
		return sum, fmt.Errorf("%s exists: a backup never overwrites a file", out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return sum, err
	}
	// A plain connection, not the store's (which migrates) and not
	// query_only (which refuses VACUUM INTO): nothing here writes to path.
	src, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+url.Values{
		"_pragma": {fmt.Sprintf("busy_timeout(%d)", busyTimeoutMs)},
	}.Encode())
	if err != nil {
		return sum, err
	}
	defer src.Close()
	src.SetMaxOpenConns(1)

	partial := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial")
	_ = os.Remove(partial) // a crashed earlier attempt's leftover
	defer os.Remove(partial)
	if _, err := src.ExecContext(ctx, "VACUUM INTO ?", partial); err != nil {
		return sum, fmt.Errorf("copying %s: %w", path, explain(partial, err))
	}
	if sum, err = checkBackup(ctx, partial); err != nil {
		return sum, fmt.Errorf("the copy of %s does not check out: %w", path, err)
	}
	if err := syncFile(partial); err != nil {
		return sum, err
	}
	if err := os.Rename(partial, out); err != nil {
		return sum, err
	}
	// The rename durable too; best effort, as not every system can sync a
	// directory (the file itself is synced above).
	_ = syncFile(filepath.Dir(out))
	return sum, nil
}

// checkBackup runs SQLite's integrity check on the copy and counts what it
// holds.
func checkBackup(ctx context.Context, file string) (BackupSummary, error) {
	var sum BackupSummary
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: file}).EscapedPath()+"?mode=ro")
	if err != nil {
		return sum, err
	}
	defer db.Close()
	var verdict string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&verdict); err != nil {
		return sum, err
	}
	if verdict != "ok" {
		return sum, fmt.Errorf("integrity check: %s", verdict)
	}
	for _, q := range []struct {
		sql string
		to  *int
	}{
		{"SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &sum.Migration},
		{"SELECT COUNT(*) FROM alerts", &sum.Alerts},
		{"SELECT COUNT(*) FROM events", &sum.Events},
		{"SELECT COUNT(*) FROM incidents", &sum.Incidents},
	} {
		if err := db.QueryRowContext(ctx, q.sql).Scan(q.to); err != nil {
			return sum, err
		}
	}
	fi, err := os.Stat(file)
	if err != nil {
		return sum, err
	}
	sum.Bytes = fi.Size()
	return sum, nil
}

// syncFile makes a file's (or a directory's) contents durable.
func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	return nil
}

// Restore makes the backup file the database at path: it checks the backup
// first (as Backup checks its copy) and copies it beside path, and only
// then moves what is at path aside (the file and its -wal and -shm, which
// must never meet another database) under path+".before-restore-<time>"
// and renames the copy into place. A restore that fails (a full disk, a
// bad backup) leaves path as it was. The caller makes sure no engine has
// path open (internal/datadir). It returns what the restored database
// holds and where the previous one went ("" if there was none).
func Restore(ctx context.Context, file, path string) (sum BackupSummary, aside string, err error) {
	if _, err := os.Stat(file); err != nil {
		return sum, "", err // says "no such file", which SQLite's open error does not
	}
	if sum, err = checkBackup(ctx, file); err != nil {
		return sum, "", fmt.Errorf("%s is not a usable backup: %w", file, err)
	}
	partial := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".partial")
	defer os.Remove(partial)
	if err := copyFile(file, partial); err != nil {
		return sum, "", fmt.Errorf("copying %s beside the database: %w", file, err)
	}
	if _, err := os.Stat(path); err == nil {
		aside = path + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := moveDatabase(path, aside); err != nil {
			return sum, "", fmt.Errorf("moving the current database aside: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return sum, "", err
	}
	if err := os.Rename(partial, path); err != nil {
		if aside != "" {
			_ = moveDatabase(aside, path)
		}
		return sum, "", err
	}
	_ = syncFile(filepath.Dir(path)) // best effort, as in Backup
	return sum, aside, nil
}

// moveDatabase renames a database file with its -wal and -shm, those there
// are; if one cannot be moved, the ones already moved go back.
func moveDatabase(from, to string) error {
	var moved []string
	for _, suffix := range []string{"", "-wal", "-shm"} {
		err := os.Rename(from+suffix, to+suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			for _, m := range moved {
				_ = os.Rename(to+m, from+m)
			}
			return err
		}
		moved = append(moved, suffix)
	}
	return nil
}

// copyFile copies src to dst (created, owner-only) and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
