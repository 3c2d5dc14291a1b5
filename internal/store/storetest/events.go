package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// tenEvents commits ten events, one per second from base, in two batches
// with the ids out of order inside each batch.
func tenEvents(t *testing.T, s store.Store) []event.ID {
	var ids []event.ID
	for i := range 10 {
		ids = append(ids, event.NewID(base+int64(i)*1000, uint64(i%3)))
	}
	var b1, b2 []store.StoredEvent
	for _, i := range []int{3, 0, 4, 1, 2} {
		b1 = append(b1, storedEvent(ids[i], fmt.Sprintf(`{"i":%d}`, i)))
	}
	for _, i := range []int{9, 5, 8, 6, 7} {
		b2 = append(b2, storedEvent(ids[i], fmt.Sprintf(`{"i":%d}`, i)))
	}
	commit(t, s, store.Batch{Events: b1})
	commit(t, s, store.Batch{Events: b2})
	return ids
}

func eventIDs(evs []store.StoredEvent) []event.ID {
	out := make([]event.ID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func testEventsAfter(t *testing.T, open Opener) {
	s := openStore(t, open)
	ids := tenEvents(t, s)
	if last, err := s.LastEventID(ctx(t)); err != nil || last != ids[9] {
		t.Fatalf("last event id = %v, %v; want %v", last, err, ids[9])
	}
	cases := []struct {
		name         string
		after, upTo  event.ID
		limit        int
		wantFirst, n int
	}{
		{"all", 0, 0, 0, 0, 10},
		{"after the fourth", ids[3], 0, 0, 4, 6},
		{"up to the sixth, inclusive", ids[1], ids[5], 0, 2, 4},
		{"limit", ids[1], 0, 3, 2, 3},
		{"limit and upTo", 0, ids[8], 100, 0, 9},
		{"after the last", ids[9], 0, 0, 0, 0},
		{"after an id between two events", ids[4] + 1, 0, 0, 5, 5},
		{"upTo below after", ids[6], ids[2], 0, 0, 0},
	}
	for _, tc := range cases {
		evs, covered, err := s.EventsAfter(ctx(t), tc.after, tc.upTo, tc.limit)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !covered {
			t.Errorf("%s: covered = false before any prune", tc.name)
		}
		var want []event.ID
		if tc.n > 0 {
			want = ids[tc.wantFirst : tc.wantFirst+tc.n]
		}
		if fmt.Sprint(eventIDs(evs)) != fmt.Sprint(want) {
			t.Errorf("%s: got %v; want %v", tc.name, eventIDs(evs), want)
		}
	}
	// Every field comes back as committed.
	evs, _, _ := s.EventsAfter(ctx(t), ids[6], ids[7], 1)
	want := storedEvent(ids[7], `{"i":7}`)
	if len(evs) != 1 {
		t.Fatalf("one event: got %v", evs)
	}
	got := evs[0]
	if got.ID != want.ID || got.Topic != want.Topic || got.Type != want.Type || string(got.Data) != string(want.Data) || !got.At.Equal(want.At) {
		t.Fatalf("event read back\n got %+v\nwant %+v", got, want)
	}
	// Binary payloads are kept byte for byte.
	raw := []byte{0, 1, 2, 0xff, '\n', 0}
	id := event.NewID(base+time.Hour.Milliseconds(), 0)
	commit(t, s, store.Batch{Events: []store.StoredEvent{{ID: id, Topic: event.TopicAlerts, Type: event.TypeEmergency, Data: raw, At: id.Time()}}})
	evs, _, _ = s.EventsAfter(ctx(t), ids[9], 0, 0)
	if len(evs) != 1 || string(evs[0].Data) != string(raw) || evs[0].Type != event.TypeEmergency {
		t.Fatalf("binary payload read back as %+v", evs)
	}
}

func testPruneByCount(t *testing.T, open Opener) {
	s := openStore(t, open)
	ids := tenEvents(t, s)
	// No age bound (zero time), keep the newest three.
	if err := s.PruneEvents(ctx(t), time.Time{}, 3); err != nil {
		t.Fatalf("prune: %v", err)
	}
	evs, covered, err := s.EventsAfter(ctx(t), 0, 0, 0)
	if err != nil || fmt.Sprint(eventIDs(evs)) != fmt.Sprint(ids[7:]) {
		t.Fatalf("after keeping 3: %v, %v; want %v", eventIDs(evs), err, ids[7:])
	}
	if covered {
		t.Error("covered = true for a replay from 0 after a prune; want false (a gap)")
	}
	if _, covered, _ := s.EventsAfter(ctx(t), ids[5], 0, 0); covered {
		t.Error("covered = true after the fifth-newest event, which was pruned; want false")
	}
	if evs, covered, _ := s.EventsAfter(ctx(t), ids[6], 0, 0); !covered || len(evs) != 3 {
		t.Errorf("after the newest pruned id: covered %v with %d events; want true with 3", covered, len(evs))
	}
	// A prune that removes nothing keeps the mark where it was.
	if err := s.PruneEvents(ctx(t), time.Time{}, 100); err != nil {
		t.Fatalf("prune: %v", err)
	}
	if _, covered, _ := s.EventsAfter(ctx(t), ids[5], 0, 0); covered {
		t.Error("a no-op prune lost the pruned mark")
	}
	// Prune everything: the sequence must still continue after the newest.
	if err := s.PruneEvents(ctx(t), ids[9].Time().Add(time.Millisecond), 0); err != nil {
		t.Fatalf("prune all: %v", err)
	}
	if evs, covered, _ := s.EventsAfter(ctx(t), 0, 0, 0); len(evs) != 0 || covered {
		t.Errorf("after pruning all: %d events, covered %v; want 0, false", len(evs), covered)
	}
	if last, err := s.LastEventID(ctx(t)); err != nil || last != ids[9] {
		t.Errorf("last event id after pruning all = %v, %v; want %v", last, err, ids[9])
	}
	if _, covered, _ := s.EventsAfter(ctx(t), ids[9], 0, 0); !covered {
		t.Error("a client that saw the newest event is not covered after pruning all")
	}
	// The mark survives a reopen.
	s2 := openStore(t, open)
	if last, err := s2.LastEventID(ctx(t)); err != nil || last != ids[9] {
		t.Errorf("last event id after reopen = %v, %v; want %v", last, err, ids[9])
	}
	if _, covered, _ := s2.EventsAfter(ctx(t), ids[8], 0, 0); covered {
		t.Error("pruned mark lost across a reopen")
	}
}

func testPruneByAge(t *testing.T, open Opener) {
	s := openStore(t, open)
	ids := tenEvents(t, s)
	// Events 0..3 are older than the fifth's time; the count bound (keep 8)
	// alone would delete only two of them.
	if err := s.PruneEvents(ctx(t), ids[4].Time(), 8); err != nil {
		t.Fatalf("prune: %v", err)
	}
	evs, _, err := s.EventsAfter(ctx(t), 0, 0, 0)
	if err != nil || fmt.Sprint(eventIDs(evs)) != fmt.Sprint(ids[4:]) {
		t.Fatalf("after pruning by age: %v, %v; want %v", eventIDs(evs), err, ids[4:])
	}
	if _, covered, _ := s.EventsAfter(ctx(t), ids[2], 0, 0); covered {
		t.Error("covered after a pruned id; want false")
	}
	if _, covered, _ := s.EventsAfter(ctx(t), ids[3], 0, 0); !covered {
		t.Error("not covered after the newest pruned id; want true")
	}
	// The count bound wins when it is the stricter one.
	if err := s.PruneEvents(ctx(t), ids[0].Time(), 2); err != nil {
		t.Fatalf("prune: %v", err)
	}
	evs, _, _ = s.EventsAfter(ctx(t), 0, 0, 0)
	if fmt.Sprint(eventIDs(evs)) != fmt.Sprint(ids[8:]) {
		t.Fatalf("after keeping 2: %v; want %v", eventIDs(evs), ids[8:])
	}
}
