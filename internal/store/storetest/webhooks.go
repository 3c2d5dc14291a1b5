package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// RunWebhooks checks store.WebhookQueue, the notifier's persisted queue,
// on a backend whose stores implement it.
func RunWebhooks(t *testing.T, open Opener) {
	ctx := context.Background()
	q := func(s store.Store) store.WebhookQueue {
		w, ok := s.(store.WebhookQueue)
		if !ok {
			t.Fatalf("%T does not implement store.WebhookQueue", s)
		}
		return w
	}
	s := openStore(t, open)
	w := q(s)
	if _, ok, err := w.WebhookCursor(ctx); err != nil || ok {
		t.Fatalf("cursor of an empty store: ok=%v err=%v; want none", ok, err)
	}
	del := func(id, receiver, key string, at int64) store.WebhookDelivery {
		return store.WebhookDelivery{ID: id, Receiver: receiver, Key: key, Payload: []byte(`{"id":"` + id + `"}`), CreatedAt: at, NextAt: at}
	}
	_, err := w.WebhookAdvance(ctx, store.WebhookAdvance{From: 0, To: 10,
		Alerts: []store.WebhookAlert{{AlertID: "al_1", Level: crowd.Critical, Status: crowd.StatusActive, Muted: true, Notifications: 2, LevelSince: 5, Escalated: -1}},
		Deliveries: []store.WebhookDelivery{
			del("d1", "a", "al_1", 100), del("d2", "a", "al_2", 100), del("d3", "a", "al_1", 100), del("d4", "b", "al_1", 100),
		}})
	if err != nil {
		t.Fatal(err)
	}
	// A second instance that still thinks the cursor is at 0 is refused,
	// whole: its deliveries are not added.
	if _, err := w.WebhookAdvance(ctx, store.WebhookAdvance{From: 0, To: 11, Deliveries: []store.WebhookDelivery{del("x", "a", "k", 1)}}); !errors.Is(err, store.ErrWebhookCursorMoved) {
		t.Fatalf("advance from a stale cursor: %v; want ErrWebhookCursorMoved", err)
	}
	if _, err := w.WebhookAdvance(ctx, store.WebhookAdvance{From: 9, To: 11}); !errors.Is(err, store.ErrWebhookCursorMoved) {
		t.Fatalf("advance from a wrong cursor: %v; want ErrWebhookCursorMoved", err)
	}
	if id, ok, err := w.WebhookCursor(ctx); err != nil || !ok || id != 10 {
		t.Fatalf("cursor = %v %v %v; want 10", id, ok, err)
	}
	ids := func(ds []store.WebhookDelivery) string {
		out := ""
		for _, d := range ds {
			out += d.ID + " "
		}
		return out
	}
	// Only the head of each key is due: d3 waits behind d1.
	due, err := w.WebhookDue(ctx, "a", 100, 10)
	if err != nil || ids(due) != "d1 d2 " {
		t.Fatalf("due = %q, %v; want d1 d2", ids(due), err)
	}
	if string(due[0].Payload) != `{"id":"d1"}` || due[0].Key != "al_1" || due[0].Receiver != "a" {
		t.Fatalf("delivery read back as %+v", due[0])
	}
	// A failed head holds its key back until it is due again.
	if err := w.WebhookRetry(ctx, due[0].Seq, 1, 500, "HTTP 500"); err != nil {
		t.Fatal(err)
	}
	if due, _ = w.WebhookDue(ctx, "a", 100, 10); ids(due) != "d2 " {
		t.Fatalf("due while d1 waits = %q; want d2", ids(due))
	}
	if due, _ = w.WebhookDue(ctx, "a", 500, 10); ids(due) != "d1 d2 " || due[0].Attempts != 1 || due[0].LastError != "HTTP 500" {
		t.Fatalf("due after the retry time = %+v", due)
	}
	if err := w.WebhookDone(ctx, due[0].Seq); err != nil {
		t.Fatal(err)
	}
	if due, _ = w.WebhookDue(ctx, "a", 500, 10); ids(due) != "d2 d3 " {
		t.Fatalf("due after d1 = %q; want d2 d3", ids(due))
	}
	stats, err := w.WebhookStats(ctx)
	if err != nil || fmt.Sprint(stats) != "[{a 2 100} {b 1 100}]" {
		t.Fatalf("stats = %v, %v", stats, err)
	}
	// The bound drops the oldest of a receiver.
	dropped, err := w.WebhookAdvance(ctx, store.WebhookAdvance{From: 10, To: 12, MaxPerReceiver: 2,
		Forget:     []string{"al_1"},
		Deliveries: []store.WebhookDelivery{del("d5", "a", "al_3", 200)}})
	if err != nil || dropped["a"] != 1 {
		t.Fatalf("advance at the bound: dropped %v, %v; want 1 of a", dropped, err)
	}
	if due, _ = w.WebhookDue(ctx, "a", 500, 10); ids(due) != "d3 d5 " {
		t.Fatalf("due after the bound = %q; want d3 d5 (d2 dropped)", ids(due))
	}
	if al, err := w.WebhookAlerts(ctx); err != nil || len(al) != 0 {
		t.Fatalf("alert states after forget = %v, %v", al, err)
	}
	// Everything survives a reopen.
	w = q(openStore(t, open))
	if id, _, _ := w.WebhookCursor(ctx); id != 12 {
		t.Fatalf("cursor after reopen = %v; want 12", id)
	}
	if _, err := w.WebhookAdvance(ctx, store.WebhookAdvance{From: 12, To: 12,
		Alerts: []store.WebhookAlert{{AlertID: "al_9", Level: crowd.Emergency, Status: crowd.StatusAcknowledged, LevelSince: 7, Escalated: crowd.Critical}}}); err != nil {
		t.Fatal(err)
	}
	al, err := w.WebhookAlerts(ctx)
	if err != nil || len(al) != 1 || al[0] != (store.WebhookAlert{AlertID: "al_9", Level: crowd.Emergency, Status: crowd.StatusAcknowledged, LevelSince: 7, Escalated: crowd.Critical}) {
		t.Fatalf("alert states = %+v, %v", al, err)
	}
	if n, err := w.WebhookForget(ctx, []string{"a"}); err != nil || n != 1 {
		t.Fatalf("forget b: %d, %v; want 1", n, err)
	}
	if n, err := w.WebhookForget(ctx, nil); err != nil || n != 2 {
		t.Fatalf("forget all: %d, %v; want 2", n, err)
	}
}
