package sse

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

// goroutinesIn counts the goroutines whose stack runs through fn (a
// function name such as "sse.(*pool).work"), from a dump of every stack:
// the leak check of goleak without the dependency.
func goroutinesIn(fn string) (int, string) {
	buf := make([]byte, 1<<20)
	dump := string(buf[:runtime.Stack(buf, true)])
	n := 0
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n, dump
}

// waitGoroutines waits for the count of fn's goroutines to reach want.
func waitGoroutines(t *testing.T, fn string, want int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		n, dump := goroutinesIn(fn)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines in %s, want %d:\n%s", n, fn, want, dump)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A server that is built and then dropped (a start-up that fails after
// NewServer, as app.New does on a bad venue or store) starts nothing, so
// it leaks nothing: no worker, no retry timer, not one goroutine.
func TestServerBuiltButNeverRunStartsNoGoroutine(t *testing.T) {
	h := hub.New(hub.Options{})
	defer h.Close()
	runtime.GC()
	before := runtime.NumGoroutine()
	s := NewServer(Options{Hub: h})
	time.Sleep(20 * time.Millisecond) // a goroutine started by NewServer would be running now
	if after := settledGoroutines(before); after > before {
		_, dump := goroutinesIn("")
		t.Fatalf("NewServer left %d goroutines running:\n%s", after-before, dump)
	}
	waitGoroutines(t, "sse.(*pool)", 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil { // what app.abandon does with it
		t.Fatal(err)
	}
	if got := settledGoroutines(before); got > before {
		_, dump := goroutinesIn("")
		t.Fatalf("%d goroutines after Shutdown, %d before NewServer:\n%s", got, before, dump)
	}
}

// settledGoroutines counts the goroutines, waiting up to a second for the
// count to come down to want: one of an earlier test (a connection's, a
// timer's) may still be on its way out, and a goroutine that stays is what
// the caller looks for.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	return n
}

// The workers start with the first pooled stream and stop with the
// server; the retry timer is armed only while a stream is blocked, so a
// pool whose streams all take their bytes has nothing ticking.
func TestPoolStartsWithItsFirstStreamAndTicksOnlyWhenBlocked(t *testing.T) {
	if !poolFastPath {
		t.Skip("no writer pool on this platform")
	}
	f := newStreamFixture(t, Options{})
	waitGoroutines(t, "sse.(*pool).work", 0)
	c := f.connect(t, "/stream", nil)
	c.message(t)
	// The first frames go out before the stream joins the pool: wait.
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if n, _ := goroutinesIn("sse.(*pool).work"); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no worker serves the hijacked stream")
		}
	}
	for i := range 50 {
		e := f.publish(event.TopicAlerts, "alert", "", i)
		if m := c.message(t); m.ID != e.ID.String() {
			t.Fatalf("got %q, want %q", m.ID, e.ID)
		}
	}
	f.srv.pool.mu.Lock()
	armed, blocked := f.srv.pool.retry != nil, len(f.srv.pool.blocked)
	f.srv.pool.mu.Unlock()
	if armed || blocked > 0 {
		t.Fatalf("retry timer armed %v with %d blocked streams on a pool whose client reads everything", armed, blocked)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, "sse.(*pool)", 0)
}
