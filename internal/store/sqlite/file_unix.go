//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// fileID names a file independently of its path.
type fileID struct{ dev, ino uint64 }

func identify(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, nil
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, nil
}

// explain adds the cause SQLite's own message hides: a write refused with
// "disk I/O error" because the file system is read-only (mounted so, or
// turned so by the kernel after a disk error, which statfs may not show):
// creating a file next to the database says which.
func explain(path string, err error) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "readonly") {
		// SQLite opened the file read-only (the file system was so when
		// the connection was made): say it in the operator's words.
		return fmt.Errorf("read-only database or file system: %w", err)
	}
	f, cerr := os.CreateTemp(filepath.Dir(path), ".crowdrisk-probe-*")
	if cerr == nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if errors.Is(cerr, syscall.EROFS) {
		return fmt.Errorf("read-only file system: %w", err)
	}
	return err
}
