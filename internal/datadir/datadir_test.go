package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A held directory refuses a second holder (flock conflicts between two
// opens even within one process), says who holds it, and is free again
// once released.
func TestOneHolderAtATime(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // created by Acquire
	first, err := Acquire(dir, "engine on 127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, "engine on 127.0.0.1:9090")
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "engine on 127.0.0.1:8080, pid ") {
		t.Fatalf("second holder: %v", err)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	second, err := Acquire(dir, "engine on 127.0.0.1:9090")
	if err != nil {
		t.Fatalf("after the release: %v", err)
	}
	defer second.Release()
	b, _ := os.ReadFile(filepath.Join(dir, FileName))
	if !strings.HasPrefix(string(b), "engine on 127.0.0.1:9090, pid ") || strings.Contains(string(b), "8080") {
		t.Fatalf("lock file says %q", b)
	}
}
