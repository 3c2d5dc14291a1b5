package sse

import (
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

// countingScheduler counts the DATA frames that leave through it.
type countingScheduler struct {
	http2.WriteScheduler
	data *atomic.Int64
}

func (c countingScheduler) Pop() (http2.FrameWriteRequest, bool) {
	wr, ok := c.WriteScheduler.Pop()
	if ok && wr.DataSize() > 0 {
		c.data.Add(1)
	}
	return wr, ok
}

// The HTTP/2 connections ConfigureHTTP2 sets up (as the app does) write
// their frames through our scheduler, and every stream of a busy
// connection still gets every event, in order. Fails if the server stops
// calling the hook (net/http's own HTTP/2 server, or x/net's from Go 1.27
// on, which wraps it): the figures in BENCHMARKS.md then no longer hold.
func TestHTTP2ServedWithOurWriteScheduler(t *testing.T) {
	var data atomic.Int64
	saved := newWriteScheduler
	newWriteScheduler = func() http2.WriteScheduler {
		return countingScheduler{WriteScheduler: http2.NewRandomWriteScheduler(), data: &data}
	}
	t.Cleanup(func() { newWriteScheduler = saved })

	f := newH2Fixture(t, Options{}, hub.Options{})
	const n, events = 40, 20
	streams := make([]*client, n)
	for i := range streams {
		streams[i] = f.open(t, "/stream?topics=alerts", nil)
		if p := decode(t, streams[i].message(t)); p.Type != "connected" {
			t.Fatalf("first message %+v", p)
		}
	}
	var want []string
	for i := range events {
		want = append(want, f.publish(event.TopicAlerts, "alert", "", i).ID.String())
	}
	for i, c := range streams {
		for _, id := range want {
			if m := c.message(t); m.ID != id {
				t.Fatalf("stream %d: got id %q, want %q", i, m.ID, id)
			}
		}
	}
	if f.conns.Load() != 1 {
		t.Fatalf("%d connections, want 1", f.conns.Load())
	}
	// At least the connected messages; the events may share frames.
	if got := data.Load(); got < n {
		t.Fatalf("%d DATA frames went through our scheduler for %d streams", got, n)
	}
}
