package redisbus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// A follower's command reaches the leader, the reply comes back, and the
// position survives the leader: the next one starts after it.
func TestQueueRoundTripAndPosition(t *testing.T) {
	ctx := context.Background()
	r := testenv.Redis(t)
	keys := NewKeys("t:")
	q := NewQueue(client(t, r.URL()), keys, 1000)
	lease := NewLease(client(t, r.URL()), keys, "leader", 5*time.Second)
	f, _, _ := lease.Acquire(ctx)

	done := make(chan error, 1)
	go func() {
		pos, _ := q.Position(ctx)
		cmds, err := q.Read(ctx, pos, 10, 5*time.Second)
		if err != nil || len(cmds) != 1 || cmds[0].Op != "ack" || string(cmds[0].Body) != `{"id":"a1"}` {
			done <- errors.New("leader read a wrong command")
			return
		}
		done <- q.Done(ctx, f, cmds[0], []byte(`"ok"`))
	}()
	reply, err := q.Submit(ctx, "ack", []byte(`{"id":"a1"}`), time.Now().Add(time.Second), 5*time.Second)
	if err != nil || string(reply) != `"ok"` {
		t.Fatalf("reply %q %v", reply, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	pos, _ := q.Position(ctx)
	if cmds, _ := q.Read(ctx, pos, 10, 10*time.Millisecond); len(cmds) != 0 {
		t.Fatalf("handled command read again: %v", cmds)
	}

	// Nobody answers: ErrNoReply, and the command waits for a leader.
	if _, err := q.Submit(ctx, "reading", []byte(`[]`), time.Time{}, 200*time.Millisecond); !errors.Is(err, ErrNoReply) {
		t.Fatalf("unanswered submit: %v", err)
	}
	cmds, _ := q.Read(ctx, pos, 10, time.Second)
	if len(cmds) != 1 || !cmds[0].Deadline.IsZero() {
		t.Fatalf("pending command %v", cmds)
	}
	// A deposed leader cannot advance the position.
	lease.Release(ctx)
	if err := q.Done(ctx, f, cmds[0], nil); !errors.Is(err, ErrFenced) {
		t.Fatalf("fenced done: %v", err)
	}
	if p, _ := q.Position(ctx); p != pos {
		t.Fatalf("position moved to %s", p)
	}
}
