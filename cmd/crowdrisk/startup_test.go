package main

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartupErrorsAreOneLine starts the real binary into every start-up
// failure an operator meets and wants the same answer each time: a non-zero
// exit and one line on stderr naming the cause, never a panic that hides it.
func TestStartupErrorsAreOneLine(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	dir := t.TempDir()
	aFile := filepath.Join(dir, "a-file")
	if err := os.WriteFile(aFile, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory where the database file should be.
	dbIsDir := filepath.Join(dir, "db-is-dir")
	if err := os.MkdirAll(filepath.Join(dbIsDir, "crowdrisk.db"), 0o755); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "corrupt")
	garbage := make([]byte, 64<<10)
	rand.Read(garbage)
	if err := os.MkdirAll(corrupt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corrupt, "crowdrisk.db"), garbage, 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		args  []string
		cause string // what the line must name
	}{
		{"port in use", []string{"--addr", busy.Addr().String()}, "address already in use"},
		{"missing venue file", []string{"--venue", filepath.Join(dir, "no-such-venue.json")}, "no-such-venue.json"},
		// Tests run as root, whom chmod does not stop: a data directory
		// under a regular file cannot be created by anyone.
		{"data dir under a file", []string{"--data-dir", filepath.Join(aFile, "data")}, "not a directory"},
		{"database is a directory", []string{"--data-dir", dbIsDir}, "crowdrisk.db"},
		{"corrupt database", []string{"--data-dir", corrupt}, "not a database"},
		{"unknown flag", []string{"--no-such-flag"}, "-no-such-flag"},
		{"bad flag value", []string{"--heartbeat", "soon"}, "heartbeat"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"--addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"), "--simulate=false"}, c.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, args...)
			var stderr syncBuffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			out := stderr.String()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() <= 0 {
				t.Fatalf("want a non-zero exit, got %v\n%s", err, out)
			}
			if strings.Contains(out, "panic") || strings.Contains(out, "goroutine") {
				t.Fatalf("panicked:\n%s", out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "crowdrisk: ") || !strings.Contains(lines[0], c.cause) {
				t.Fatalf("want one line naming %q, got:\n%s", c.cause, out)
			}
		})
	}
}

// A second engine on a data directory another engine holds (with another
// --addr, so the port does not stop it) refuses to start, in one line that
// names the holder, and leaves the first alone; once the first is killed
// (no clean shutdown), the directory is free: the lock is the kernel's and
// goes with the process.
func TestOneEnginePerDataDirectory(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	first := start(t, freeAddr(t), data, "--simulate=false")
	before, _ := testAlert(t, first, "gate-a", "critical")

	second := freeAddr(t)
	// Bounded: an engine that does start would otherwise run on.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "--addr", second, "--data-dir", data, "--simulate=false").CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err == nil || len(lines) != 1 || !strings.Contains(lines[0], "in use by another engine") ||
		!strings.Contains(lines[0], "--addr "+first.Addr) || !strings.Contains(lines[0], "pid ") {
		t.Fatalf("second engine on the same data directory: %v\n%s", err, out)
	}
	// The first still serves and commits.
	testAlert(t, first, "gate-a", "critical")

	first.kill()
	again := start(t, second, data, "--simulate=false")
	resp, err := http.Get(again.base + "/api/crowd-risk/alerts")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), before) {
		t.Fatalf("the engine after the kill does not have the first one's alert %s: %s", before, b)
	}
}
