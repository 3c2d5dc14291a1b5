package mqtt

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

func msgOf(n int) inbound {
	return inbound{msg: &fakeMessage{topic: "t", payload: make([]byte, n)}}
}

// A full queue makes push wait until the engine takes, and a closed one
// lets every waiting push go, dropping its message.
func TestQueueWaitsWhenFull(t *testing.T) {
	var q queue
	q.init(2, 1<<20)
	q.push(msgOf(1))
	q.push(msgOf(1))
	var pushed atomic.Bool
	go func() { q.push(msgOf(1)); pushed.Store(true) }()
	time.Sleep(50 * time.Millisecond)
	if pushed.Load() {
		t.Fatal("a third message went into a queue of two")
	}
	if got := len(q.takeAll()); got != 2 {
		t.Fatalf("took %d", got)
	}
	waitFor(t, 2*time.Second, pushed.Load, func() string { return "push still waiting after a take" })

	q.init(1, 10) // bytes: one message always fits an empty queue
	q.items, q.bytes = nil, 0
	q.push(msgOf(100))
	var second atomic.Bool
	go func() { q.push(msgOf(1)); second.Store(true) }()
	time.Sleep(50 * time.Millisecond)
	if second.Load() {
		t.Fatal("a message went in past the byte bound")
	}
	q.close()
	waitFor(t, 2*time.Second, second.Load, func() string { return "push still waiting after close" })
	if q.len() != 0 {
		t.Fatal("a closed queue holds messages")
	}
}

// TestBacklogStaysBounded: a broker that sends a backlog without waiting
// for acknowledgements (mosquitto 2.0 ignores max_inflight_messages) while
// the engine is held: the subscriber's queue never holds more than its
// bound, and once the engine takes readings again every message arrives,
// once.
func TestBacklogStaysBounded(t *testing.T) {
	b := testenv.Mosquitto(t, testenv.WithMaxInflight(1000))
	eng := newTestEngine(t)
	release := make(chan struct{})
	var once sync.Once
	unhold := func() {
		once.Do(func() {
			eng.mu.Lock()
			eng.hold = nil
			eng.mu.Unlock()
			close(release)
		})
	}
	eng.mu.Lock()
	eng.hold = release
	eng.mu.Unlock()
	const bound = 300
	sub := startSubscriber(t, b, "engine-1", eng, func(o *Options) { o.MaxQueued = bound })
	// After the subscriber's: cleanups run last first, and a failure must
	// not leave the subscriber's stop waiting on a held engine.
	t.Cleanup(unhold)
	sub.waitConnected(t)
	p := dial(t, b)
	const n = 20000
	publishBurst(t, p, n)
	peak := 0
	for range 50 { // the broker pushes while the engine is held
		peak = max(peak, sub.queue.len())
		time.Sleep(10 * time.Millisecond)
	}
	if peak > bound {
		t.Fatalf("the queue held %d messages, bound %d", peak, bound)
	}
	if peak < bound/2 {
		t.Fatalf("the queue held at most %d while the engine was held: the test did not fill it", peak)
	}
	unhold()
	waitFor(t, 60*time.Second, func() bool { return eng.accepted.Load() >= n },
		func() string { return fmt.Sprintf("accepted %d of %d\n%s", eng.accepted.Load(), n, sub.log.String()) })
	time.Sleep(300 * time.Millisecond)
	if got := eng.accepted.Load(); got != n {
		t.Fatalf("accepted %d readings, want %d", got, n)
	}
}
