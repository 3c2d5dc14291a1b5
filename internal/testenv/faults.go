package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// Real file-system faults for the store tests: a small tmpfs that can be
// filled, and a read-only bind mount of a directory. They need root and a
// kernel that lets the test mount (a container may not); without either
// the test is skipped with the reason, because chmod cannot stand in: root
// writes through any mode bits.

// Tmpfs mounts a tmpfs of size bytes on a fresh directory and unmounts it
// when the test ends.
func Tmpfs(t testing.TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	if err := run("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", dir); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root and mount rights): %v", err)
	}
	t.Cleanup(func() { _ = run("umount", "-l", dir) })
	return dir
}

// Fill writes a file into dir until the file system is full and returns a
// function that removes it again.
func Fill(t testing.TB, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			break
		}
	}
	// Single bytes too, so not even a small page fits.
	for {
		if _, err := f.Write(buf[:1]); err != nil {
			break
		}
	}
	f.Close()
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// ReadOnly bind-mounts dir onto itself and returns functions that remount
// it read-only and read-write again. Files already open for writing fail
// their next write with EROFS, as on a disk the kernel remounted read-only
// after an error.
func ReadOnly(t testing.TB, dir string) (ro, rw func()) {
	t.Helper()
	if err := run("mount", "--bind", dir, dir); err != nil {
		t.Skipf("cannot bind-mount here (needs root and mount rights): %v", err)
	}
	t.Cleanup(func() { _ = run("umount", "-l", dir) })
	remount := func(mode string) func() {
		return func() {
			t.Helper()
			if err := run("mount", "-o", "remount,"+mode+",bind", dir); err != nil {
				t.Fatalf("remount %s %s: %v", mode, dir, err)
			}
		}
	}
	return remount("ro"), remount("rw")
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return errors.New(err.Error() + ": " + string(out))
	}
	return nil
}
