package redisbus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	rdb, err := Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func ev(ms int64, seq uint64, data string) *event.Event {
	return &event.Event{ID: event.NewID(ms, seq), Topic: event.TopicAlerts, Type: event.TypeAlert,
		StateKey: "alert:" + data, Data: []byte(`{"type":"alert","data":"` + data + `"}`)}
}

// Two contenders: only one holds the lease; the other gets it once the
// first lets it expire, with a larger fencing token, and from then on the
// first one's appends are refused.
func TestLeaseTwoContendersExpiryAndFencing(t *testing.T) {
	ctx := context.Background()
	r := testenv.Redis(t)
	keys := NewKeys("t:")
	a := NewLease(client(t, r.URL()), keys, "a", 300*time.Millisecond)
	b := NewLease(client(t, r.URL()), keys, "b", 300*time.Millisecond)
	log := NewLog(client(t, r.URL()), keys, 1000)

	fa, ok, err := a.Acquire(ctx)
	if err != nil || !ok {
		t.Fatalf("a: %v %v", ok, err)
	}
	if _, ok, err := b.Acquire(ctx); err != nil || ok {
		t.Fatalf("b took a held lease: %v %v", ok, err)
	}
	// Renewal keeps it past the TTL.
	for i := 0; i < 4; i++ {
		time.Sleep(150 * time.Millisecond)
		if err := a.Renew(ctx); err != nil {
			t.Fatalf("renew %d: %v", i, err)
		}
		if _, ok, _ := b.Acquire(ctx); ok {
			t.Fatal("b took a renewed lease")
		}
	}
	if err := log.Append(ctx, fa, ev(1000, 0, "x")); err != nil {
		t.Fatalf("leader's append: %v", err)
	}

	// a stops renewing (a long GC pause, a frozen VM): the lease expires.
	time.Sleep(400 * time.Millisecond)
	fb, ok, err := b.Acquire(ctx)
	if err != nil || !ok {
		t.Fatalf("b after expiry: %v %v", ok, err)
	}
	if fb.Token <= fa.Token {
		t.Fatalf("fencing token did not increase: %d then %d", fa.Token, fb.Token)
	}
	// a wakes up and writes as if it still led: refused, nothing written.
	if err := log.Append(ctx, fa, ev(2000, 0, "stale")); !errors.Is(err, ErrFenced) {
		t.Fatalf("deposed leader's append: %v, want ErrFenced", err)
	}
	if err := a.Renew(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("deposed leader's renew: %v", err)
	}
	if err := log.Append(ctx, fb, ev(2000, 1, "y")); err != nil {
		t.Fatalf("new leader's append: %v", err)
	}
	got, err := log.Read(ctx, 0, 100, 0)
	if err != nil || len(got) != 2 || string(got[1].StateKey) != "alert:y" {
		t.Fatalf("stream holds %v %v", got, err)
	}

	// Release hands over at once.
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := a.Acquire(ctx); err != nil || !ok {
		t.Fatalf("a after release: %v %v", ok, err)
	}
	if err := log.Append(ctx, fb, ev(3000, 0, "z")); !errors.Is(err, ErrFenced) {
		t.Fatalf("released leader's append: %v", err)
	}
}

// A Redis restart without persistence resets the token counter; the lease
// value still differs, so an old fence cannot pass for a new one.
func TestFenceSurvivesCounterReset(t *testing.T) {
	ctx := context.Background()
	r := testenv.Redis(t)
	keys := NewKeys("t:")
	a := NewLease(client(t, r.URL()), keys, "a", 5*time.Second)
	b := NewLease(client(t, r.URL()), keys, "b", 5*time.Second)
	fa, _, _ := a.Acquire(ctx)
	r.Stop()
	r.Start()
	fb, ok, err := b.Acquire(ctx)
	for i := 0; err != nil && i < 20; i++ { // the client reconnects
		time.Sleep(100 * time.Millisecond)
		fb, ok, err = b.Acquire(ctx)
	}
	if err != nil || !ok {
		t.Fatalf("b after restart: %v %v", ok, err)
	}
	if fb.Token != fa.Token {
		t.Logf("tokens %d and %d", fa.Token, fb.Token) // both 1 is the point of the test
	}
	if err := NewLog(client(t, r.URL()), keys, 10).Append(ctx, fa, ev(1, 0, "x")); !errors.Is(err, ErrFenced) {
		t.Fatalf("old fence after a restart: %v", err)
	}
}
