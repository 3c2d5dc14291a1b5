package chaos

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// disk is the single instance's data directory on a small tmpfs of its
// own, so the campaign can fill it (a full disk) and remount it read-only,
// then heal both, under a running engine. Root only; without it the disk
// faults are reported as not injected.
type disk struct {
	dir     string
	mounted bool
	filler  string
}

func mountDisk(dir, size string) (*disk, error) {
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput()
	if err != nil {
		return &disk{dir: dir}, fmt.Errorf("mount tmpfs: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return &disk{dir: dir, mounted: true, filler: filepath.Join(dir, "chaos-filler")}, nil
}

// fill writes a file until the filesystem is full (ENOSPC).
func (d *disk) fill() error {
	if !d.mounted {
		return errors.New("no tmpfs")
	}
	f, err := os.OpenFile(d.filler, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return err
		}
	}
}

// free removes the filler: the disk has room again.
func (d *disk) free() error {
	if err := os.Remove(d.filler); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// remount switches the filesystem to read-only (ro) or back. The kernel
// refuses ro while a file is open for writing (EBUSY), which a running
// SQLite engine always has: the caller then stops the engine first.
func (d *disk) remount(ro bool) error {
	if !d.mounted {
		return errors.New("no tmpfs")
	}
	mode := "remount,rw"
	if ro {
		mode = "remount,ro"
	}
	out, err := exec.Command("mount", "-o", mode, d.dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mount -o %s: %v: %s", mode, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// unmount is the cleanup: writable again, then lazily unmounted so that a
// process still holding a file cannot keep the mount alive.
func (d *disk) unmount() {
	if !d.mounted {
		return
	}
	d.remount(false)
	exec.Command("umount", "-l", d.dir).Run()
	d.mounted = false
}
