package storetest

import (
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// testCommand: a batch's command key is recorded with its effects, all or
// nothing, and survives a reopen.
func testCommand(t *testing.T, open Opener) {
	s := openStore(t, open)
	if done, err := s.CommandDone(ctx(t), "cmd-1"); err != nil || done {
		t.Fatalf("before: %v %v", done, err)
	}
	commit(t, s, store.Batch{Command: "cmd-1", Alerts: []crowd.Alert{alert("c1", "z1", crowd.StatusActive, base)}})
	// A batch that fails (an invalid alert) records nothing of its command.
	bad := store.Batch{Command: "cmd-2", Alerts: []crowd.Alert{alert("c2", "z1", crowd.StatusActive, base), {ID: ""}}}
	if err := s.Commit(ctx(t), bad); err == nil {
		t.Fatal("an invalid batch committed")
	}
	r := openStore(t, open)
	for key, want := range map[string]bool{"cmd-1": true, "cmd-2": false, "cmd-3": false} {
		if done, err := r.CommandDone(ctx(t), key); err != nil || done != want {
			t.Errorf("CommandDone(%s) = %v, %v; want %v", key, done, err, want)
		}
	}
}
