// Package datadir owns the engine's data directory on a host: it makes
// sure one engine at a time uses it. Two engines on one SQLite file would
// each run the rules and each commit their alerts, with two event
// sequences: every screen would see doubled, crossing alerts. The listen
// port already stops a second engine started with the same --addr; a lock
// in the directory stops one started with another.
//
// The lock is the operating system's (flock on unix, LockFileEx on
// Windows): it goes with the process, so an engine that was killed leaves
// no stale lock behind. The file also says which process holds it, for
// the error the second one prints.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FileName is the lock file's name in the directory.
const FileName = "crowdrisk.lock"

// ErrInUse is returned (wrapped, with the holder) when another process
// holds the directory.
var ErrInUse = errors.New("the data directory is in use by another engine")

// Lock is a held data directory.
type Lock struct {
	f *os.File
}

// Acquire creates dir if needed and locks it for this process, without
// waiting: if another process holds it, the error wraps ErrInUse and says
// which process (what it wrote in the lock file) since when.
func Acquire(dir, holder string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--data-dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--data-dir %s: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, errLocked) {
			who := strings.TrimSpace(string(b))
			if who == "" {
				who = "a process that has not said which"
			}
			return nil, fmt.Errorf("--data-dir %s: %w: %s", dir, ErrInUse, who)
		}
		return nil, fmt.Errorf("--data-dir %s: locking %s: %w", dir, FileName, err)
	}
	// Say who holds it; a failure here costs only the message.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("%s, pid %d, since %s\n", holder, os.Getpid(), time.Now().UTC().Format(time.RFC3339))), 0)
	}
	return &Lock{f: f}, nil
}

// Release lets another process have the directory. The file stays (a
// process waiting for it may have it open).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing drops the lock
	l.f = nil
	return err
}
