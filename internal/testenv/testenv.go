// Package testenv starts real servers for tests: PostgreSQL and Redis from
// the machine's Debian packages, on free loopback ports, in temporary
// directories, stopped when the test (or the test binary) ends. Nothing is
// mocked and nothing is skipped: a missing binary fails the test and names
// the package that provides it (the project's test script installs them).
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// onFreePort calls start with a port that was free a moment ago, and again
// with another if it fails (something took the port meanwhile), three
// times at most; it returns the last error.
func onFreePort(start func(port int) error) error {
	var err error
	for range 3 {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		if err = start(port); err == nil {
			return nil
		}
	}
	return err
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may take it before the caller binds it, so the helpers
// that start servers retry with a new port when the bind fails.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lookBinary finds a server binary or says which Debian package to install.
func lookBinary(name, debianPackage string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("testenv: %s not found on PATH: install the Debian package %q (apt-get install -y %s)",
			name, debianPackage, debianPackage)
	}
	return p, nil
}

// dieWithParent makes the kernel signal the server when the test binary
// dies, so a crashed or killed `go test` leaves no server behind.
func dieWithParent(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = sig
	// Its own process group, so a ^C aimed at `go test` reaches the server
	// only through us, in the order we stop things.
	cmd.SysProcAttr.Setpgid = true
}

// waitTCP waits until addr accepts connections or the process exits.
func waitTCP(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("server exited before listening on %s", addr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listening on %s after %s: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logTail returns the end of a server's log file for a failure message.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return filepath.Base(path) + ":\n" + strings.Join(lines, "\n")
}
