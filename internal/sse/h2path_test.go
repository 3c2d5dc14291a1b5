package sse

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

// h2Writer stands in for net/http's HTTP/2 response writer: it records each
// Write and Flush, can hold a Write (a client whose flow-control window is
// full), and fails the held Write when a deadline in the past is set, as
// net/http's HTTP/2 server resets the stream then.
type h2Writer struct {
	header http.Header

	mu        sync.Mutex
	writes    [][]byte
	flushes   int
	deadlines int           // SetWriteDeadline calls
	hold      chan struct{} // non-nil: the next Write waits until it is closed or reset
	held      chan struct{} // closed when a Write is being held
	reset     chan struct{} // closed by a deadline in the past
}

var errTestReset = errors.New("stream reset (deadline in the past)")

func newH2Writer() *h2Writer {
	return &h2Writer{header: http.Header{}, reset: make(chan struct{})}
}

func (w *h2Writer) Header() http.Header { return w.header }
func (w *h2Writer) WriteHeader(int)     {}

func (w *h2Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, bytes.Clone(p))
	hold, held := w.hold, w.held
	w.hold = nil
	w.mu.Unlock()
	if hold != nil {
		close(held)
		select {
		case <-hold:
		case <-w.reset:
			return 0, errTestReset
		}
	}
	return len(p), nil
}

func (w *h2Writer) FlushError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushes++
	return nil
}

func (w *h2Writer) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadlines++
	if !t.IsZero() && t.Before(time.Now()) {
		select {
		case <-w.reset:
		default:
			close(w.reset)
		}
	}
	return nil
}

// holdNext makes the next Write wait; the returned channel is closed once
// it waits.
func (w *h2Writer) holdNext(release chan struct{}) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hold, w.held = release, make(chan struct{})
	return w.held
}

func (w *h2Writer) snapshot() (writes [][]byte, flushes, deadlines int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]byte(nil), w.writes...), w.flushes, w.deadlines
}

// serveH2Fake runs one stream as an HTTP/2 request (ProtoMajor 2) on the
// fake writer; the returned channel is closed when the handler returns.
func serveH2Fake(t *testing.T, f *streamFixture, path string, w *h2Writer) <-chan struct{} {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.ProtoMajor, r.ProtoMinor, r.Proto = 2, 0, "HTTP/2.0"
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.srv.Handler(nil).ServeHTTP(w, r)
	}()
	waitFor(t, "the connected message", func() bool { ws, _, _ := w.snapshot(); return len(ws) > 0 })
	return done
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Everything that waited while a stream's write was held leaves in ONE
// Write and ONE Flush: every alert, in order, none lost; density conflated
// to the newest reading per zone; and no write deadline is set per write
// (on HTTP/2 each is a message to the connection's goroutine).
func TestH2PathCoalescesWhatWaitedIntoOneWrite(t *testing.T) {
	f := newStreamFixture(t, Options{})
	w := newH2Writer()
	done := serveH2Fake(t, f, "/stream?topics=density,alerts", w)

	release := make(chan struct{})
	held := w.holdNext(release)
	f.publish(event.TopicAlerts, "alert", "", "first")
	<-held // the stream's goroutine is inside Write
	var alerts []string
	for i := range 200 {
		if i%4 == 0 {
			alerts = append(alerts, f.publish(event.TopicAlerts, "alert", "", i).ID.String())
		}
		f.publish(event.TopicDensity, "density", []string{"a", "b", "c"}[i%3], i)
	}
	before, _, _ := w.snapshot()
	close(release)
	waitFor(t, "the batch", func() bool { ws, _, _ := w.snapshot(); return len(ws) == len(before)+1 })
	time.Sleep(20 * time.Millisecond) // nothing else may follow
	writes, flushes, deadlines := w.snapshot()
	if len(writes) != len(before)+1 {
		t.Fatalf("%d writes after the release, want 1", len(writes)-len(before))
	}
	if flushes != len(writes) {
		t.Fatalf("%d flushes for %d writes", flushes, len(writes))
	}
	if deadlines != 0 {
		t.Fatalf("%d SetWriteDeadline calls: the HTTP/2 path sets none per write", deadlines)
	}
	p := NewParser(bytes.NewReader(writes[len(writes)-1]))
	var gotAlerts []string
	density := 0
	for {
		it, err := p.Next()
		if err != nil {
			break
		}
		if it.Kind != KindMessage {
			continue
		}
		switch decode(t, it.Message).Type {
		case "alert":
			gotAlerts = append(gotAlerts, it.Message.ID)
		case "density":
			density++
		}
	}
	if strings.Join(gotAlerts, ",") != strings.Join(alerts, ",") {
		t.Fatalf("alerts in the batch %v, want every one in order %v", gotAlerts, alerts)
	}
	if density != 3 {
		t.Fatalf("%d density events in the batch, want 3 (the newest of each zone)", density)
	}
	f.srv.Shutdown(t.Context())
	<-done
}

// A stream whose write does not finish within WriteTimeout is reset by the
// watchdog (a deadline in the past), its handler returns and releases its
// subscription, and the publisher never waited for it. The watchdog runs
// only while there are HTTP/2 streams.
func TestH2PathLateWriteIsResetAndReleased(t *testing.T) {
	f := newStreamFixture(t, Options{WriteTimeout: 100 * time.Millisecond})
	if f.srv.h2.running() {
		t.Fatal("watchdog running before any HTTP/2 stream")
	}
	w := newH2Writer()
	done := serveH2Fake(t, f, "/stream?topics=density,alerts", w)
	if !f.srv.h2.running() {
		t.Fatal("no watchdog with an HTTP/2 stream open")
	}
	held := w.holdNext(make(chan struct{})) // never released
	start := time.Now()
	f.publish(event.TopicAlerts, "alert", "", "stuck")
	<-held
	for i := range 1000 {
		f.publish(event.TopicDensity, "density", "z", i)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("publishing to a stuck stream took %s", d)
	}
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("the stuck stream was never ended")
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("ended after %s, before its write timeout", d)
	}
	select {
	case <-w.reset:
	default:
		t.Fatal("ended without a reset")
	}
	waitFor(t, "the subscription released", func() bool { return f.hub.Subscribers() == 0 })
	waitFor(t, "the watchdog stopped", func() bool { return !f.srv.h2.running() })
}

// A stream that is slow but not stuck is not reset: the watchdog bounds a
// write, not the time between writes or the time a stream is open.
func TestH2PathSlowButMovingStreamIsKept(t *testing.T) {
	f := newStreamFixture(t, Options{WriteTimeout: 150 * time.Millisecond})
	w := newH2Writer()
	done := serveH2Fake(t, f, "/stream?topics=alerts", w)
	for i := range 5 {
		release := make(chan struct{})
		held := w.holdNext(release)
		f.publish(event.TopicAlerts, "alert", "", i)
		<-held
		time.Sleep(75 * time.Millisecond) // half the timeout
		close(release)
		time.Sleep(200 * time.Millisecond) // quiet for longer than the timeout
	}
	select {
	case <-w.reset:
		t.Fatal("a stream whose writes each finished in time was reset")
	case <-done:
		t.Fatal("the stream ended")
	default:
	}
	f.srv.Shutdown(t.Context())
	<-done
	if ws, _, _ := w.snapshot(); !bytes.Contains(ws[len(ws)-1], []byte("server shutting down")) {
		t.Fatalf("last write %q is not the goodbye", ws[len(ws)-1])
	}
}

// A subscriber the hub cuts off (its alerts piled up beyond the queue
// limit) ends its HTTP/2 stream: the alerts are never dropped silently.
func TestH2PathHubCutOffEndsTheStream(t *testing.T) {
	f := &streamFixture{hub: hub.New(hub.Options{QueueLimit: 8}), seq: event.NewSequencer(0, nil)}
	f.srv = NewServer(Options{Hub: f.hub, WriteTimeout: time.Minute})
	t.Cleanup(func() { f.srv.Shutdown(t.Context()); f.hub.Close() })
	w := newH2Writer()
	done := serveH2Fake(t, f, "/stream?topics=alerts", w)
	release := make(chan struct{})
	held := w.holdNext(release)
	f.publish(event.TopicAlerts, "alert", "", "first")
	<-held
	for i := range 20 {
		f.publish(event.TopicAlerts, "alert", "", i)
	}
	if got := f.hub.Stats().SlowDisconnects; got != 1 {
		t.Fatalf("%d slow disconnects, want 1", got)
	}
	close(release)
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("the cut-off stream did not end")
	}
}
