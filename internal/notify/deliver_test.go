package notify

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

func fastOptions(r *rig, rcv ...Receiver) Options {
	return Options{Store: r.store, Receivers: rcv, Secret: secret, Timeout: 200 * time.Millisecond,
		Poll: 20 * time.Millisecond, BackoffBase: 10 * time.Millisecond, BackoffMax: 80 * time.Millisecond}
}

// checkHits verifies every request's signature and timestamp and returns
// the changes per alert in arrival order, each delivery id once (the
// receiver's dedupe).
func checkHits(t *testing.T, hits []hit) map[string][]string {
	t.Helper()
	seen := map[string]bool{}
	out := map[string][]string{}
	for _, h := range hits {
		if !Verify(secret, h.Body, h.Header.Get(HeaderSignature)) {
			t.Fatalf("signature does not verify: %s", h.Body)
		}
		id := h.Header.Get(HeaderDelivery)
		if id == "" || id != h.Payload.DeliveryID {
			t.Fatalf("delivery id header %q, body %q", id, h.Payload.DeliveryID)
		}
		ts, err := strconv.ParseInt(h.Header.Get(HeaderTimestamp), 10, 64)
		if err != nil || ts != h.Payload.SentAt || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
			t.Fatalf("timestamp header %q, body sentAt %d", h.Header.Get(HeaderTimestamp), h.Payload.SentAt)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		out[h.Alert.ID] = append(out[h.Alert.ID], h.Payload.Change)
	}
	return out
}

// A receiver that fails with 500, then stalls beyond the client timeout,
// then recovers gets every change, in order per alert, signed.
func TestReceiverFailsStallsAndRecovers(t *testing.T) {
	r := openRig(t, "", time.Now)
	rcv := newReceiver(t, "fail")
	n, err := New(fastOptions(r, FromURL(rcv.URL, false)))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	run(t, n)
	ctx := context.Background()
	var ids []string
	for _, z := range []string{"gate-a", "gate-b", "fan-zone"} {
		ids = append(ids, r.raise(t, z, crowd.Critical).ID)
	}
	waitFor(t, "failed attempts", 5*time.Second, func() bool { return rcv.attempts() >= 3 })
	rcv.setMode("stall")
	// Changes made while the receiver is down queue behind the others.
	for _, id := range ids[:2] {
		if _, err := r.eng.Acknowledge(ctx, id, "op"); err != nil {
			t.Fatal(err)
		}
	}
	before := rcv.attempts()
	waitFor(t, "stalled attempts", 5*time.Second, func() bool { return rcv.attempts() >= before+2 })
	if len(rcv.hits()) != 0 {
		t.Fatalf("delivered while failing: %d", len(rcv.hits()))
	}
	rcv.setMode("ok")
	waitFor(t, "every change", 10*time.Second, func() bool {
		got := checkHits(t, rcv.hits())
		return len(got[ids[0]]) == 2 && len(got[ids[1]]) == 2 && len(got[ids[2]]) == 1
	})
	got := checkHits(t, rcv.hits())
	// A test alert acknowledged is resolved in the same change.
	want := map[string]string{ids[0]: "[raise resolve]", ids[1]: "[raise resolve]", ids[2]: "[raise]"}
	for id, w := range want {
		if fmt.Sprint(got[id]) != w {
			t.Errorf("alert %s: changes %v; want %s", id, got[id], w)
		}
	}
	// The receiver records a hit before it answers; the notifier counts
	// the delivery when the answer is in.
	waitFor(t, "5 delivered in the status", 5*time.Second, func() bool { return n.Status().Receivers[0].Delivered == 5 })
	st := n.Status().Receivers[0]
	if st.Delivered != 5 || st.Failed == 0 || st.LastError == "" {
		t.Errorf("status %+v; want 5 delivered and the failures counted", st)
	}
}

// The queue is in the store: an engine and notifier stopped while the
// receiver is down lose nothing; the next process delivers it all.
func TestQueueSurvivesARestart(t *testing.T) {
	r := openRig(t, "", time.Now)
	rcv := newReceiver(t, "fail")
	n, err := New(fastOptions(r, FromURL(rcv.URL, false)))
	if err != nil {
		t.Fatal(err)
	}
	// As the app does before the engine takes readings: without it the
	// notifier's first step places its cursor after whatever the raises
	// below committed first, and those changes are (rightly) never sent.
	if err := n.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop := run(t, n)
	a := r.raise(t, "gate-a", crowd.Emergency)
	b := r.raise(t, "gate-b", crowd.Warning)
	if _, err := r.eng.Acknowledge(context.Background(), b.ID, "op"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "queued and tried", 5*time.Second, func() bool { return rcv.attempts() >= 2 })
	stop()
	r.store.Close()

	rcv.setMode("ok")
	r2 := openRig(t, r.path, time.Now)
	n2, err := New(fastOptions(r2, FromURL(rcv.URL, false)))
	if err != nil {
		t.Fatal(err)
	}
	run(t, n2)
	c := r2.raise(t, "fan-zone", crowd.Critical) // after the restart
	waitFor(t, "the backlog and the new change", 10*time.Second, func() bool {
		got := checkHits(t, rcv.hits())
		return len(got[a.ID]) == 1 && len(got[b.ID]) == 2 && len(got[c.ID]) == 1
	})
	got := checkHits(t, rcv.hits())
	if fmt.Sprint(got[b.ID]) != "[raise resolve]" || fmt.Sprint(got[a.ID]) != "[raise]" {
		t.Fatalf("after the restart: %v", got)
	}
	if len(rcv.hits()) != 4 {
		t.Errorf("%d requests accepted; want 4 (nothing sent twice)", len(rcv.hits()))
	}
}

// Filters by level, kind and zone; a follower delivers nothing.
func TestFiltersAndLeader(t *testing.T) {
	r := openRig(t, "", time.Now)
	all, crit, gate := newReceiver(t, "ok"), newReceiver(t, "ok"), newReceiver(t, "ok")
	var leader atomic.Bool // a follower first
	opts := fastOptions(r,
		Receiver{Name: "all", URL: all.URL},
		Receiver{Name: "crit", URL: crit.URL, MinLevel: "critical", Kinds: []crowd.AlertKind{crowd.KindTest}},
		Receiver{Name: "gate", URL: gate.URL, Zones: []string{"gate-a"}, Kinds: []crowd.AlertKind{crowd.KindDensity}})
	opts.Leader = leader.Load
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	run(t, n)
	r.raise(t, "gate-a", crowd.Warning)
	r.raise(t, "gate-b", crowd.Emergency)
	time.Sleep(200 * time.Millisecond)
	if all.attempts()+crit.attempts() != 0 {
		t.Fatal("a follower delivered")
	}
	leader.Store(true)
	waitFor(t, "deliveries", 5*time.Second, func() bool { return len(all.hits()) == 2 && len(crit.hits()) == 1 })
	time.Sleep(100 * time.Millisecond)
	if len(gate.hits()) != 0 || crit.hits()[0].Alert.ZoneID != "gate-b" {
		t.Fatalf("filters let through: gate %d, crit %+v", len(gate.hits()), crit.hits()[0].Alert)
	}
}
