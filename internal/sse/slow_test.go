package sse

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

// TestSlowClientDoesNotHoldBackOthersAndResumes: one subscriber stops
// reading while alerts flow. The others get every alert; the stuck one is
// cut off (its queue is bounded, so is the server's memory for it) and, when
// it resumes from the last id it read, receives every alert it missed.
func TestSlowClientDoesNotHoldBackOthersAndResumes(t *testing.T) {
	h := hub.New(hub.Options{QueueLimit: 512, HistorySize: 100000})
	// The write timeout is generous: the stuck client is cut by the
	// queue bound anyway, and a busy machine (CI runs packages in
	// parallel) must not cut the healthy readers, whose scheduling it
	// delays.
	srv := NewServer(Options{Hub: h, WriteTimeout: 3 * time.Second})
	mux := http.NewServeMux()
	mux.Handle("GET /stream", srv.Handler(nil))
	ts := newLoopbackServer(t, mux)
	t.Cleanup(func() { srv.Shutdown(context.Background()); h.Close() })
	seq := event.NewSequencer(0, nil)

	// The stuck client: a raw connection with a tiny receive buffer that
	// reads the response head and then nothing.
	raw, err := net.Dial("tcp", ts)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(raw, "GET /stream?topics=alerts HTTP/1.1\r\nHost: x\r\n\r\n")
	stuck := bufio.NewReaderSize(raw, 1<<20)
	if line, _ := stuck.ReadString('\n'); !strings.Contains(line, "200") {
		t.Fatalf("status line %q", line)
	}

	fast := (&streamFixture{ts: nil}).connectURL(t, "http://"+ts+"/stream?topics=alerts")
	fast.message(t) // connected

	payload := strings.Repeat("x", 8000)
	const n = 1500
	ids := make([]string, 0, n)
	go func() {
		for i := 0; i < n; i++ {
			e := &event.Event{ID: seq.Next(), Topic: event.TopicAlerts, Type: "alert",
				Data: []byte(fmt.Sprintf(`{"type":"alert","n":%d,"pad":%q}`, i, payload))}
			h.Publish(e)
			time.Sleep(500 * time.Microsecond) // 16 MB/s: a healthy client keeps up
		}
	}()
	for i := 0; i < n; i++ {
		m := fast.message(t)
		ids = append(ids, m.ID)
		if !strings.Contains(m.Data, fmt.Sprintf(`"n":%d,`, i)) {
			t.Fatalf("fast client: message %d out of order: %.40s", i, m.Data)
		}
	}

	// The stuck client was cut off: the hub's bounded queue or the write
	// timeout ended it, so nothing grows for it any more.
	deadline := time.Now().Add(10 * time.Second)
	for h.Stats().OpenAlerts != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("stuck client still subscribed: %+v", h.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// It reads what reached it, then resumes from its last id. (The
	// server closed the connection, but the kernel may still hold bytes it
	// cannot deliver to a receive window this small, so the end of what
	// arrives is a pause, not always an EOF: real clients notice the
	// missing heartbeats.)
	raw.SetReadDeadline(time.Now().Add(time.Second))
	for {
		line, err := stuck.ReadString('\n')
		if err != nil || line == "\r\n" {
			break
		}
	}
	p := NewParser(stuck)
	got := 0
	for {
		it, err := p.Next()
		if err != nil {
			break
		}
		if it.Kind == KindMessage && it.Message.HasID {
			got++
		}
	}
	last := p.LastEventID()
	if got >= n {
		t.Fatalf("the stuck client received everything (%d): the test did not make it slow", got)
	}
	resumed := (&streamFixture{}).connectURL(t, "http://"+ts+"/stream?topics=alerts&lastEventId="+last)
	if !decode(t, resumed.message(t)).Resumed {
		t.Fatal("resume not honoured")
	}
	for i := got; i < n; i++ {
		m := resumed.message(t)
		if m.ID != ids[i] {
			t.Fatalf("after resume: got id %s, want %s (message %d)", m.ID, ids[i], i)
		}
	}
}

// newLoopbackServer serves h on 127.0.0.1 with a plain http.Server.
func newLoopbackServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &http.Server{Handler: h}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}
