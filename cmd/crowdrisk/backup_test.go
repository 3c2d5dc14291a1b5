package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/sse"
)

// The backup and restore of docs/deployment.md, end to end on the real
// binary: a backup taken while the engine runs (the simulator committing
// beside it), restored into the same data directory once the engine is
// killed (never while it runs; the database it replaces, WAL and all, is
// kept aside), brings back every alert raised before it and none raised
// after; the backup never overwrites a file.
func TestBackupWhileRunningRestores(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	p := start(t, freeAddr(t), data)
	before, beforeAt := testAlert(t, p, "gate-a", "critical")

	backup := filepath.Join(dir, "backup.db")
	out, err := exec.Command(binary, "backup", "--data-dir", data, "--out", backup).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "integrity check ok") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if out, err := exec.Command(binary, "backup", "--data-dir", data, "--out", backup).CombinedOutput(); err == nil || !strings.Contains(string(out), "never overwrites") {
		t.Fatalf("a second backup to the same file: %v\n%s", err, out)
	}
	after, afterAt := testAlert(t, p, "gate-a", "critical")

	// Not while the engine runs.
	if out, err := exec.Command(binary, "restore", "--data-dir", data, "--from", backup).CombinedOutput(); err == nil || !strings.Contains(string(out), "stop the engine first") {
		t.Fatalf("restore under a running engine: %v\n%s", err, out)
	}
	// Killed, not stopped: its WAL, with the later alert in it, stays
	// beside the database, and must not be applied to the backup.
	p.kill()
	if _, err := os.Stat(filepath.Join(data, "crowdrisk.db-wal")); err != nil {
		t.Fatalf("no WAL after the kill, so this test would not show it is moved aside: %v", err)
	}
	out, err = exec.Command(binary, "restore", "--data-dir", data, "--from", backup).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "integrity check ok") || !strings.Contains(string(out), "kept as") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if aside, _ := filepath.Glob(filepath.Join(data, "crowdrisk.db.before-restore-*")); len(aside) == 0 {
		t.Fatal("the replaced database was not kept")
	}
	q := start(t, freeAddr(t), data, "--simulate=false")
	resp, err := http.Get(q.base + "/api/crowd-risk/alerts")
	if err != nil {
		t.Fatal(err)
	}
	alerts, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(alerts), before) || strings.Contains(string(alerts), after) {
		t.Fatalf("restored alerts %s: want %s and not %s", alerts, before, after)
	}
	// A screen resuming from before the backup is replayed what it missed
	// (the store has it all); one that saw the lost alert resumes from an
	// id the restored store never had: it must be reset (and get the
	// snapshot), not told it missed nothing.
	ok := openStream(t, q.base+"/api/crowd-risk/stream?topics=alerts&lastEventId="+strconv.FormatInt(beforeAt, 10)+"-0")
	ok.until(t, 10*time.Second, func(m sse.Message) bool {
		w := decodeMsg(t, m)
		if w.Type == "connected" && !w.Resumed {
			t.Fatal("a resume from before the backup was not accepted")
		}
		return w.Type == "connected"
	})
	st := openStream(t, q.base+"/api/crowd-risk/stream?topics=alerts&lastEventId="+strconv.FormatInt(afterAt, 10)+"-0")
	st.until(t, 10*time.Second, func(m sse.Message) bool {
		w := decodeMsg(t, m)
		if w.Type == "connected" && w.Resumed {
			t.Fatal("the resume across the restore was accepted as complete")
		}
		return w.Type == "reset"
	})
}
