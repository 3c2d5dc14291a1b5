// Package lifetime owns when the server ends a long-lived connection (an
// SSE stream, a WebSocket) before its client does, and why: its token
// expires, its session signs out, or the server shuts down. Both transports
// tell their clients the same way (a reconnect message with the reason), so
// they share this bookkeeping: one Tracker per server holds the connections
// it let in, by session, and holds its shutdown until each has ended.
package lifetime

import (
	"context"
	"sync"
	"time"
)

// Ending is why the server ends a connection; the client is told in its
// goodbye. The zero value is the server's shutdown.
type Ending struct {
	Reason string
	// Reauth: the connection's credentials ended; the client should
	// check them (sign in again) before it comes back with its last id.
	Reauth bool
}

var (
	Expired   = Ending{Reason: "token expired", Reauth: true}
	SignedOut = Ending{Reason: "signed out", Reauth: true}
)

// Why is the reason as the client reads it.
func (e Ending) Why() string {
	if e.Reason == "" {
		return "server shutting down"
	}
	return e.Reason
}

// Tracker is one server's set of open connections.
type Tracker struct {
	now func() time.Time

	mu       sync.Mutex
	sessions map[string]map[*Conn]struct{} // open connections by session
	closed   bool
	closing  chan struct{}
	active   sync.WaitGroup
}

// NewTracker makes a tracker whose expiries are measured against now
// (time.Now if nil).
func NewTracker(now func() time.Time) *Tracker {
	if now == nil {
		now = time.Now
	}
	return &Tracker{now: now, sessions: map[string]map[*Conn]struct{}{}, closing: make(chan struct{})}
}

// Enter admits a connection, unless the tracker is closed. Each true must
// be matched by one Leave when the connection has ended.
func (t *Tracker) Enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.active.Add(1)
	return true
}

// Leave says an admitted connection has ended.
func (t *Tracker) Leave() { t.active.Done() }

// Close refuses new connections and closes Closing. It reports whether
// this call closed it (the first one), so that the caller ends its
// connections once.
func (t *Tracker) Close() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.closed = true
	close(t.closing)
	return true
}

// Closing is closed when the server begins to shut down.
func (t *Tracker) Closing() <-chan struct{} { return t.closing }

// Wait waits until every admitted connection has left, or ctx ends.
func (t *Tracker) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { t.active.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Conn ends one connection when its token expires or its session signs
// out. It watches from before the connection's first bytes go out (a
// sign-out then cannot slip between the two); an end that comes before the
// connection is placed (in a writer pool, or its own goroutine) waits for
// it. It is released when the connection ends, whatever ended it.
type Conn struct {
	t       *Tracker
	session string

	mu      sync.Mutex
	stop    func(Ending) // set when the connection is placed
	pending *Ending      // an end that came before
	timer   *time.Timer
	done    bool
}

// Watch registers a connection of session ("" for none) and arms its
// expiry (none if expires is zero).
func (t *Tracker) Watch(session string, expires time.Time) *Conn {
	c := &Conn{t: t, session: session}
	c.mu.Lock()
	defer c.mu.Unlock()
	if session != "" {
		t.mu.Lock()
		set := t.sessions[session]
		if set == nil {
			set = map[*Conn]struct{}{}
			t.sessions[session] = set
		}
		set[c] = struct{}{}
		t.mu.Unlock()
	}
	if !expires.IsZero() {
		c.timer = time.AfterFunc(expires.Sub(t.now()), func() { c.End(Expired) })
	}
	return c
}

// Place says how to end the connection, now that it is served; stop must
// be harmless on a connection that has already ended, and may be called
// on any goroutine.
func (c *Conn) Place(stop func(Ending)) {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	c.stop = stop
	pending := c.pending
	c.mu.Unlock()
	if pending != nil {
		stop(*pending)
	}
}

// End ends the connection, or has it ended once it is placed. It reports
// whether the connection was still open.
func (c *Conn) End(why Ending) bool {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return false
	}
	stop := c.stop
	if stop == nil {
		c.pending = &why
	}
	c.mu.Unlock()
	if stop != nil {
		stop(why)
	}
	return true
}

// Release forgets the connection: it has ended. Later Ends do nothing.
func (c *Conn) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.done = true
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.session != "" {
		c.t.mu.Lock()
		if set := c.t.sessions[c.session]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(c.t.sessions, c.session)
			}
		}
		c.t.mu.Unlock()
	}
}

// EndSession ends every open connection of a session (auth.SessionID),
// telling each client why; the API calls it on sign-out. It returns how
// many. It does not wait for the goodbyes: each may wait up to a second
// on a full socket.
func (t *Tracker) EndSession(session string) int {
	// Lock order is connection, then tracker (Watch, Release): collect
	// first.
	t.mu.Lock()
	cs := make([]*Conn, 0, len(t.sessions[session]))
	for c := range t.sessions[session] {
		cs = append(cs, c)
	}
	t.mu.Unlock()
	n := 0
	for _, c := range cs {
		c.mu.Lock()
		open := !c.done
		c.mu.Unlock()
		if open {
			go c.End(SignedOut)
			n++
		}
	}
	return n
}
