package redisbus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// TestWithdrawnCommandNeverRuns: a submitter that waited in vain withdraws
// its command before answering 503, and a leader that reads it later cannot
// claim it; a command a leader claimed in time is answered even after the
// first wait, so a 503 never stands for a command that ran.
func TestWithdrawnCommandNeverRuns(t *testing.T) {
	ctx := context.Background()
	r := testenv.Redis(t)
	keys := NewKeys("t:")
	q := NewQueue(client(t, r.URL()), keys, 1000)
	lease := NewLease(client(t, r.URL()), keys, "leader", 5*time.Second)
	f, _, _ := lease.Acquire(ctx)

	// No leader reads in time: withdrawn, and not claimable afterwards.
	if _, err := q.Submit(ctx, "test-alert", []byte(`{}`), time.Now().Add(time.Minute), 200*time.Millisecond); !errors.Is(err, ErrNoReply) {
		t.Fatalf("unanswered command: %v", err)
	}
	pos, _ := q.Position(ctx)
	cmds, err := q.Read(ctx, pos, 10, time.Second)
	if err != nil || len(cmds) != 1 {
		t.Fatalf("read %v %v", cmds, err)
	}
	if ok, err := q.Claim(ctx, cmds[0]); err != nil || ok {
		t.Fatalf("a withdrawn command was claimed: %v %v", ok, err)
	}
	if err := q.Done(ctx, f, cmds[0], []byte(`"expired"`)); err != nil {
		t.Fatal(err)
	}

	// A leader claims it within the wait and answers after it: the
	// submitter gets the answer, not a 503.
	done := make(chan error, 1)
	go func() {
		pos, _ := q.Position(ctx)
		cmds, err := q.Read(ctx, pos, 10, 5*time.Second)
		if err != nil || len(cmds) != 1 {
			done <- errors.New("leader read nothing")
			return
		}
		if ok, err := q.Claim(ctx, cmds[0]); err != nil || !ok {
			done <- errors.New("a fresh command could not be claimed")
			return
		}
		// A new leader takes over the claim of one that stopped.
		if ok, err := q.Claim(ctx, cmds[0]); err != nil || !ok {
			done <- errors.New("a new leader could not take over a running claim")
			return
		}
		time.Sleep(600 * time.Millisecond) // past the submitter's first wait
		done <- q.Done(ctx, f, cmds[0], []byte(`"ran"`))
	}()
	reply, err := q.Submit(ctx, "test-alert", []byte(`{}`), time.Now().Add(time.Minute), 300*time.Millisecond)
	if err != nil || string(reply) != `"ran"` {
		t.Fatalf("a claimed command answered late: %q %v", reply, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
