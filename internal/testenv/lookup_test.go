package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A missing server must fail the test with the package to install, never
// skip: CI installs the packages, so a skip would hide a broken setup.
func TestMissingBinaryNamesThePackage(t *testing.T) {
	_, err := lookBinary("crowdrisk-no-such-server", "crowdrisk-server-pkg")
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y crowdrisk-server-pkg") {
		t.Fatalf("error = %v; want one naming the Debian package to install", err)
	}
}

// Clusters left by a test binary that died are removed by the next run;
// clusters of live binaries (running in parallel) are kept.
func TestRemoveStaleClusters(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(pid int) string {
		d, err := os.MkdirTemp(clusterParent(), clusterPrefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		if err := os.WriteFile(filepath.Join(d, "owner.pid"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	stale, live := mk(dead.Process.Pid), mk(os.Getpid())
	removeStaleClusters()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("cluster of a dead binary still there (%v)", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("cluster of a live binary removed: %v", err)
	}
}
