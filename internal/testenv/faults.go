package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// KernelReadOnly mounts a small ext4 image (loop device, errors=remount-ro)
// on a fresh directory and returns a function that makes the kernel turn it
// read-only as it does after a disk error (ext4's trigger_fs_error). That is
// the way a directory goes read-only under a running process: a plain
// "mount -o remount,ro" (or a read-only bind remount) is refused with EBUSY
// while any file on it is open for writing, as the database is. There is no
// way back short of unmounting (ext4 wants an fsck), so the tests cannot
// check recovery from this one.
func KernelReadOnly(t testing.TB) (dir string, fail func()) {
	t.Helper()
	img := filepath.Join(t.TempDir(), "ext4.img")
	dir = t.TempDir()
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	if err := run("mkfs.ext4", "-q", "-F", img); err != nil {
		t.Skipf("cannot make an ext4 image here: %v", err)
	}
	if err := run("mount", "-o", "loop,errors=remount-ro", img, dir); err != nil {
		t.Skipf("cannot loop-mount here (needs root, loop devices): %v", err)
	}
	t.Cleanup(func() { _ = run("umount", "-l", dir) })
	out, err := exec.Command("findmnt", "-n", "-o", "SOURCE", dir).Output()
	if err != nil {
		t.Skipf("findmnt: %v", err)
	}
	trigger := filepath.Join("/sys/fs/ext4", filepath.Base(strings.TrimSpace(string(out))), "trigger_fs_error")
	return dir, func() {
		t.Helper()
		if err := os.WriteFile(trigger, []byte("1"), 0o200); err != nil {
			t.Fatalf("triggering an ext4 error: %v", err)
		}
	}
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return errors.New(err.Error() + ": " + string(out))
	}
	return nil
}
