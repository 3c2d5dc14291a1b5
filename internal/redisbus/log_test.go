package redisbus

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

func TestLogKeepsIdsFieldsAndOrder(t *testing.T) {
	ctx := context.Background()
	r := testenv.Redis(t)
	keys := NewKeys("t:")
	l := NewLease(client(t, r.URL()), keys, "a", 5*time.Second)
	f, _, _ := l.Acquire(ctx)
	log := NewLog(client(t, r.URL()), keys, 1000)

	in := []*event.Event{
		{ID: event.NewID(5000, 0), Topic: event.TopicDensity, Type: event.TypeDensity, Key: "hall", StateKey: "zone:hall", Data: []byte(`{"a":"line1\nline2"}`)},
		{ID: event.NewID(5000, 7), Topic: event.TopicAlerts, Type: event.TypeAlert, StateKey: "alert:1", StateDrop: true, Data: []byte(`{}`)},
	}
	// A reader blocked before the append wakes up with it.
	var got []*event.Event
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		got, _ = log.Read(ctx, event.NewID(4000, 0), 10, 5*time.Second)
	}()
	time.Sleep(100 * time.Millisecond)
	if err := log.Append(ctx, f, in...); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(got) != 2 {
		t.Fatalf("blocked read got %d events", len(got))
	}
	for i, e := range got {
		w := in[i]
		if e.ID != w.ID || e.Topic != w.Topic || e.Type != w.Type || e.Key != w.Key || e.StateKey != w.StateKey ||
			e.StateDrop != w.StateDrop || string(e.Data) != string(w.Data) {
			t.Errorf("event %d: got %+v want %+v", i, e, w)
		}
	}
	// An id at or below the newest is refused whole.
	err := log.Append(ctx, f, &event.Event{ID: event.NewID(5000, 7), Topic: event.TopicAlerts, Data: []byte("{}")},
		&event.Event{ID: event.NewID(6000, 0), Topic: event.TopicAlerts, Data: []byte("{}")})
	if !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("out-of-order append: %v", err)
	}
	first, last, err := log.Bounds(ctx)
	if err != nil || first != in[0].ID || last != in[1].ID {
		t.Fatalf("bounds %v %v %v", first, last, err)
	}
	if after, _ := log.Read(ctx, in[0].ID, 10, 0); len(after) != 1 || after[0].ID != in[1].ID {
		t.Fatalf("read after the first: %v", after)
	}
}

func TestLogIsBoundedByMaxLen(t *testing.T) {
	ctx := context.Background()
	r := testenv.Redis(t)
	keys := NewKeys("t:")
	l := NewLease(client(t, r.URL()), keys, "a", 5*time.Second)
	f, _, _ := l.Acquire(ctx)
	log := NewLog(client(t, r.URL()), keys, 100)
	for i := 0; i < 2000; i++ {
		if err := log.Append(ctx, f, ev(int64(i+1), 0, "x")); err != nil {
			t.Fatal(err)
		}
	}
	n, err := client(t, r.URL()).XLen(ctx, keys.Events).Result()
	if err != nil || n > 300 || n < 100 {
		t.Fatalf("stream length %d (%v), want about 100", n, err)
	}
}
