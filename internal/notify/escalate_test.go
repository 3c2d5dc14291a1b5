package notify

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// Escalation runs on the engine's clock: a critical alert nobody
// acknowledged within its time goes to the escalation receivers once per
// level, the incident log says so, and an acknowledged one never does.
func TestEscalationWithAFakeClock(t *testing.T) {
	clk := &clock{t: time.UnixMilli(1_764_270_000_000)}
	r := openRig(t, "", clk.now)
	ops, pager := newReceiver(t, "ok"), newReceiver(t, "ok")
	opts := fastOptions(r, Receiver{Name: "ops", URL: ops.URL}, Receiver{Name: "pager", URL: pager.URL, Escalation: true})
	opts.Now = clk.now
	opts.RecordIncident = r.eng.RecordIncident
	opts.EscalateAfter = map[crowd.Level]time.Duration{crowd.Critical: 5 * time.Minute, crowd.Emergency: 2 * time.Minute}
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := n.Init(ctx); err != nil {
		t.Fatal(err)
	}
	step := func() {
		n.Step(ctx)
		for _, rc := range n.receivers {
			n.deliverDue(ctx, rc)
		}
	}
	crit := r.raise(t, "gate-a", crowd.Critical)
	acked := r.raise(t, "gate-b", crowd.Critical)
	warn := r.raise(t, "fan-zone", crowd.Warning)
	step()
	if len(ops.hits()) != 3 || len(pager.hits()) != 0 {
		t.Fatalf("before any escalation: ops %d, pager %d; want 3, 0", len(ops.hits()), len(pager.hits()))
	}
	clk.add(4 * time.Minute)
	// Acknowledged before its time: the store's word is checked even when
	// the notifier has not read the acknowledgement yet.
	if _, err := r.eng.Acknowledge(ctx, acked.ID, "op"); err != nil {
		t.Fatal(err)
	}
	n.escalate(ctx)
	clk.add(59 * time.Second)
	step()
	if len(pager.hits()) != 0 {
		t.Fatalf("escalated before 5 minutes: %d", len(pager.hits()))
	}
	clk.add(2 * time.Second)
	step()
	step() // once per level
	hits := pager.hits()
	if len(hits) != 1 || hits[0].Payload.Change != ChangeEscalation || hits[0].Alert.ID != crit.ID ||
		hits[0].Payload.Escalation == nil || hits[0].Payload.Escalation.AfterSeconds != 300 {
		t.Fatalf("pager got %d: %+v", len(hits), hits)
	}
	if !Verify(secret, hits[0].Body, hits[0].Header.Get(HeaderSignature)) {
		t.Fatal("escalation not signed")
	}
	log, err := r.eng.Incidents(ctx, store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var line *crowd.Incident
	for i := range log {
		if log[i].AlertID == crit.ID && log[i].Actor == "notifier" {
			line = &log[i]
		}
	}
	if line == nil || line.Kind != crowd.IncidentAlert || !strings.Contains(line.Message, "not acknowledged within 5m0s: escalated to pager") {
		t.Fatalf("incident log: %+v", line)
	}
	// An emergency alert escalates after its own 2 minutes; the warning
	// never does.
	emer, err := r.eng.TestAlert(ctx, "stand-north", crowd.Emergency, "", "tester")
	if err != nil {
		t.Fatal(err)
	}
	step()
	clk.add(2*time.Minute + time.Second)
	step()
	// A pager that was told of an escalation hears how it ends.
	if _, err := r.eng.Acknowledge(ctx, crit.ID, "op"); err != nil {
		t.Fatal(err)
	}
	step()
	changes := []string{}
	for _, h := range pager.hits() {
		if h.Alert.ID == warn.ID || h.Alert.ID == acked.ID {
			t.Fatalf("escalated %s", h.Alert.ID)
		}
		changes = append(changes, h.Payload.Change+":"+h.Alert.Level.String()+":"+h.Alert.ID)
	}
	want := "[escalation:critical:" + crit.ID + " escalation:emergency:" + emer.ID + " resolve:critical:" + crit.ID + "]"
	if got := fmt.Sprint(changes); got != want {
		t.Fatalf("pager changes %v; want %s", got, want)
	}
}

// derive names each change and keeps when the alert reached its level.
func TestDerive(t *testing.T) {
	a := crowd.Alert{ID: "al_1", Level: crowd.Warning, Status: crowd.StatusActive, Notifications: 1}
	steps := []struct {
		change func(*crowd.Alert)
		want   string
		since  int64
	}{
		{func(*crowd.Alert) {}, ChangeRaise, 1},
		{func(a *crowd.Alert) { a.Notifications++ }, ChangeRenotify, 1},
		{func(a *crowd.Alert) { a.Level = crowd.Critical }, ChangeEscalate, 3},
		{func(a *crowd.Alert) { a.Muted = true }, ChangeMute, 3},
		{func(a *crowd.Alert) { a.Muted = false }, ChangeUnmute, 3},
		{func(a *crowd.Alert) { a.Status = crowd.StatusAcknowledged }, ChangeAcknowledge, 3},
		{func(a *crowd.Alert) { a.Level = crowd.Warning }, ChangeDeescalate, 7},
		{func(a *crowd.Alert) { a.Density = 3 }, ChangeUpdate, 7},
		{func(a *crowd.Alert) { a.Status = crowd.StatusResolved }, ChangeResolve, 7},
	}
	var prev *store.WebhookAlert
	for i, s := range steps {
		s.change(&a)
		change, st := derive(prev, a, int64(i+1))
		if change != s.want || st.LevelSince != s.since {
			t.Fatalf("step %d: %s since %d; want %s since %d", i, change, st.LevelSince, s.want, s.since)
		}
		prev = &st
	}
}
