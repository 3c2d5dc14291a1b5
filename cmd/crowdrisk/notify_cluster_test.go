package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// Two instances with the same receivers: only the leader delivers, each
// change once, and after a takeover the new leader continues the shared
// queue.
func TestBinaryClusterNotifiesFromTheLeaderOnly(t *testing.T) {
	secret := "cluster-test-webhook-secret-0123456789"
	t.Setenv("CROWDRISK_WEBHOOK_SECRET", secret)
	hook := newHookServer(t, []byte(secret))
	hook.setFailing(false)
	r := testenv.Redis(t)
	pg := testenv.Postgres(t)
	var ps []*proc
	for i := 0; i < 2; i++ {
		ps = append(ps, start(t, freeAddr(t), t.TempDir(), "--simulate=false", "--redis", r.URL(), "--postgres", pg,
			"--lease-ttl", "3s", "--webhook", hook.URL))
	}
	leader := waitLeader(t, ps, 15*time.Second)
	follower := ps[0]
	if follower == leader {
		follower = ps[1]
	}
	raise := func(p *proc, zone string) string {
		id, _ := testAlert(t, p, zone, "warning")
		return id
	}
	a := raise(leader, "gate-a")
	b := raise(follower, "gate-b") // forwarded to the leader
	waitHook := func(what string, cond func(map[string][]string) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond(hook.changes()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: got %v", what, hook.changes())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitHook("both raises", func(c map[string][]string) bool { return len(c[a]) == 1 && len(c[b]) == 1 })
	time.Sleep(time.Second) // a second deliverer would have sent its copies by now
	hook.mu.Lock()
	total := len(hook.got)
	hook.mu.Unlock()
	if total != 2 {
		t.Fatalf("%d requests for 2 changes: more than the leader delivers", total)
	}

	leader.stop(t)
	next := waitLeader(t, []*proc{follower}, 15*time.Second)
	if code, body := next.post(t, "/api/crowd-risk/alerts/"+a+"/acknowledge", nil); code != 200 {
		t.Fatalf("acknowledge: %d %s", code, body)
	}
	waitHook("the resolution from the new leader", func(c map[string][]string) bool { return len(c[a]) == 2 })
	if got := fmt.Sprint(hook.changes()[a]); got != "[raise resolve]" {
		t.Fatalf("alert %s: %s", a, got)
	}
}
