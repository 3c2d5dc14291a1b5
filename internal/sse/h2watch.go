package sse

import (
	"sync"
	"time"
)

// h2streams is the server's set of open HTTP/2 streams, for the shutdown's
// goodbyes and for the watchdog that resets a stream whose write is late.
// The watchdog runs only while there are HTTP/2 streams: a server that
// never serves one starts no goroutine for them.
type h2streams struct {
	tick time.Duration // how often the watchdog looks; a write is reset within tick of its due time

	mu     sync.Mutex
	set    map[*h2stream]struct{}
	closed bool          // Shutdown began: new streams are ended at once
	stop   chan struct{} // closed to stop the running watchdog; nil when none runs
}

// newH2Streams: the watchdog looks four times per shortest limit (the
// goodbye's second, or WriteTimeout if shorter), so a late write is reset
// at most a quarter of its limit late.
func newH2Streams(writeTimeout time.Duration) *h2streams {
	tick := min(writeTimeout, goodbyeTimeout) / 4
	tick = max(tick, 5*time.Millisecond)
	return &h2streams{tick: tick, set: map[*h2stream]struct{}{}}
}

func (h *h2streams) add(st *h2stream) {
	h.mu.Lock()
	h.set[st] = struct{}{}
	closed := h.closed
	if h.stop == nil {
		h.stop = make(chan struct{})
		go h.watch(h.stop)
	}
	h.mu.Unlock()
	if closed {
		st.end(ending{})
	}
}

func (h *h2streams) remove(st *h2stream) {
	h.mu.Lock()
	delete(h.set, st)
	if len(h.set) == 0 && h.stop != nil {
		close(h.stop)
		h.stop = nil
	}
	h.mu.Unlock()
}

// shutdown ends every open stream with the shutdown's goodbye, and every
// stream that opens later at once.
func (h *h2streams) shutdown() {
	h.mu.Lock()
	h.closed = true
	open := make([]*h2stream, 0, len(h.set))
	for st := range h.set {
		open = append(open, st)
	}
	h.mu.Unlock()
	for _, st := range open {
		st.end(ending{})
	}
}

// watch resets the streams whose write is past due until stop is closed.
// A pass costs one atomic load per open stream.
func (h *h2streams) watch(stop chan struct{}) {
	t := time.NewTicker(h.tick)
	defer t.Stop()
	var late []*h2stream
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			late = late[:0]
			h.mu.Lock()
			for st := range h.set {
				if due := st.due.Load(); due != 0 && now.UnixNano() > due {
					late = append(late, st)
				}
			}
			h.mu.Unlock()
			for _, st := range late {
				st.reset()
			}
		}
	}
}

// running reports whether the watchdog runs (tests).
func (h *h2streams) running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stop != nil
}
