package testenv

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// shared is the one cluster of a test binary: initdb costs about a second,
// a database costs a few milliseconds, so tests share the cluster and each
// gets a database of its own. It is process state by nature (the cluster
// lives as long as the test binary), hence a package variable.
var shared struct {
	once sync.Once
	srv  *PostgresServer
	err  error
}

// Postgres returns the URL of a new, empty database on the test binary's
// shared cluster, dropped when the test ends. The cluster starts on first
// use and stops when the test binary exits: call Main from TestMain to stop
// it cleanly and remove its directory (otherwise the kernel stops it when
// the binary exits and the next run removes the directory).
func Postgres(t testing.TB) (url string) {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = startPostgres() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv.CreateDatabase(t)
}

// Main runs the tests of a package that uses Postgres, then stops the
// shared cluster and removes its files:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// StopShared stops the shared cluster, if one was started, and removes its
// files: for a TestMain that has its own set-up and tear-down.
func StopShared() {
	if shared.srv != nil {
		shared.srv.Stop()
		os.RemoveAll(shared.srv.dir)
	}
}

const clusterPrefix = "crowdrisk-testenv-pg-"

// removeStaleClusters deletes the directories of clusters whose test binary
// is gone (it was killed, or had no TestMain calling Main); their servers
// already stopped with it.
func removeStaleClusters() {
	dirs, _ := filepath.Glob(filepath.Join(clusterParent(), clusterPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
}

// clusterParent is the directory the clusters live in: the temp directory,
// unless we are root and the postgres user could not reach into it (a
// TMPDIR under /root), then /tmp.
func clusterParent() string {
	dir := os.TempDir()
	if os.Geteuid() != 0 {
		return dir
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return dir
		}
	}
}
