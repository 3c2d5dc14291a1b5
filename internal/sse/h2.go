package sse

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/hub"
	"github.com/crowdrisk/crowdrisk/internal/lifetime"
)

// The HTTP/2 path. An HTTP/2 stream cannot be hijacked into the writer pool:
// its bytes must go through the HTTP/2 server (x/net's, h2server.go; the
// same code as net/http's own), which frames them and hands every frame to
// its connection's goroutine. Each stream is therefore
// written by its own handler goroutine, and what that goroutine does per
// delivery is what this path keeps small (BENCHMARKS.md, "HTTP/2 beside
// HTTP/1.1", has the profiles that led here):
//
//   - One wake-up channel per stream. The hub, the request's context (an
//     RST_STREAM or a closed connection), the server's shutdown and the
//     stream's lifetime (expiry, sign-out) all signal it; the loop then
//     looks at what happened, instead of a five-way select per delivery
//     (select, ours and net/http's, was a fifth of the server's CPU).
//   - Everything pending leaves in one Write and one Flush (the hub's Take
//     hands over the whole queue; density is conflated per zone in the hub,
//     alerts never are).
//   - No write deadline per write. On HTTP/2 each SetWriteDeadline is a
//     message to the connection's goroutine plus a timer; two per delivery
//     (arm, then disarm, since an armed HTTP/2 deadline resets even an idle
//     stream) woke that goroutine three times per delivery instead of once.
//     A stream marks when its write must be done, and one watchdog for all
//     HTTP/2 streams (h2watch.go) resets a stream whose write is late: the
//     slow-client policy (WriteTimeout) holds, and a stuck stream never
//     blocks the publisher or its neighbours on the connection.

// h2stream is one HTTP/2 stream's state shared with the hub, the watchdog
// and the server.
type h2stream struct {
	// wake holds a token when the loop has something to look at.
	wake chan struct{}
	// due is when the write in progress must be done (UnixNano), 0
	// between writes. The watchdog resets the stream once it has passed.
	due atomic.Int64
	// why is set once when the server ends the stream (shutdown, expiry,
	// sign-out): the loop says goodbye and returns.
	why atomic.Pointer[ending]

	// mu guards reset against the handler's return: net/http's response
	// writer must not be touched after its handler returned.
	mu       sync.Mutex
	returned bool
	rc       *http.ResponseController
	resets   int // how many times the watchdog reset it (tests)
}

func newH2Stream(rc *http.ResponseController) *h2stream {
	return &h2stream{wake: make(chan struct{}, 1), rc: rc}
}

// signal wakes the loop; it never blocks (the hub calls it under its lock).
func (st *h2stream) signal() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// end asks the loop to say goodbye and return; the first reason wins.
func (st *h2stream) end(why ending) {
	st.why.CompareAndSwap(nil, &why)
	st.signal()
}

// reset ends a stream whose write is late: a deadline in the past makes
// net/http's HTTP/2 server reset the stream at once (RST_STREAM), which
// fails the handler's blocked Flush. It reports whether it did.
func (st *h2stream) reset() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.returned || st.resets > 0 {
		return false // once is enough: the stream is being reset
	}
	st.resets++
	_ = st.rc.SetWriteDeadline(time.Now().Add(-time.Second))
	return true
}

// leave marks the handler as returning: reset no longer touches it.
func (st *h2stream) leave() {
	st.mu.Lock()
	st.returned = true
	st.mu.Unlock()
}

// write sends b as one Write and one Flush, to be done within limit.
func (st *h2stream) write(w http.ResponseWriter, b []byte, limit time.Duration) error {
	st.due.Store(time.Now().Add(limit).UnixNano())
	defer st.due.Store(0)
	if _, err := w.Write(b); err != nil {
		return err
	}
	return st.rc.Flush()
}

// serveH2 serves one HTTP/2 stream from its handler goroutine (see the top
// of this file). end releases the subscription when it returns.
func (s *Server) serveH2(w http.ResponseWriter, r *http.Request, sub *hub.Subscriber, lt *lifetime.Conn, client string, wr *wire, first []byte, started int) {
	st := newH2Stream(http.NewResponseController(w))
	defer st.leave()
	s.h2.add(st) // after a shutdown began, ends st at once
	defer s.h2.remove(st)
	lt.Place(st.end)
	stop := context.AfterFunc(r.Context(), st.signal)
	defer stop()

	w.WriteHeader(http.StatusOK)
	if err := st.write(w, first, s.opts.WriteTimeout); err != nil {
		s.logEnd(client, err)
		return
	}
	s.hub.CountDelivered(started)
	// From here the hub signals the stream instead of its Ready channel
	// (at once if something is pending already).
	sub.SetNotify(st.signal)
	buf := first[:0]
	var batch hub.Batch
	for range st.wake {
		if r.Context().Err() != nil {
			return
		}
		if why := st.why.Load(); why != nil {
			_ = st.write(w, s.goodbye(buf[:0], wr, *why), goodbyeTimeout)
			return
		}
		if !sub.Take(&batch) {
			s.logEnd(client, sub.Err())
			return
		}
		if len(batch.Events) == 0 && !batch.Heartbeat {
			continue // a wake-up for something already taken
		}
		buf = s.appendBatch(buf[:0], wr, &batch)
		if err := st.write(w, buf, s.opts.WriteTimeout); err != nil {
			s.logEnd(client, err)
			return
		}
		s.delivered(batch.Events)
	}
}
