// Package combine owns write combining on a connection: many small writes
// leave in one write(2).
//
// Two protocols of the engine write many small packets, each of which the
// standard library or the client library sends with a write(2) of its own:
// an HTTP/2 connection's frames (net/http flushes its buffer, through TLS,
// whenever its queue of frames runs empty, which on one core is after
// nearly every frame) and an MQTT subscriber's PUBACKs (Paho writes every
// packet on its own). On loopback each write(2) also runs the receiver's
// TCP work on the writer's core: per delivery or per reading it was a third
// of the engine's CPU (BENCHMARKS.md, "HTTP/2" and "MQTT ingest").
//
// A Conn, once started, copies a write to a buffer and returns; the buffer
// goes to the socket in one write(2) at most linger after its first byte
// came, with whatever came meanwhile. It adds at most linger to a packet.
// A buffer that reaches max is sent at once, and writes wait (the
// back-pressure of a peer that reads slowly) while it is full.
//
// A Conn owns its socket's write deadline once started: each write(2) it
// makes must be done within timeout, else the socket is closed and every
// later write fails, which the reader above sees at once (the HTTP/2 server
// ends the connection's streams, which resume from their last id; the MQTT
// client reconnects and the broker sends again what was not acknowledged).
// Deadlines set from above are ignored then, as a buffered write cannot be
// late.
package combine

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// closeTimeout bounds Close's last write (what waits: a DISCONNECT, the
// last frames, TLS's close_notify).
const closeTimeout = time.Second

// Conn combines the writes to the connection it wraps, from Start on.
type Conn struct {
	net.Conn
	linger, timeout time.Duration
	max             int

	// on: combining. It is set once, by Start, which must not race a
	// Write: the caller starts it between two writes (the HTTP/2 server
	// starts a connection's first stream only after its handshake's
	// writes returned), so no combined write can overtake a direct one.
	on atomic.Bool

	mu       sync.Mutex
	cond     sync.Cond // a flush made room, ended or failed
	buf      []byte    // waiting for the flush
	spare    []byte    // the other buffer, reused
	timer    *time.Timer
	armed    bool  // the timer is set or a flush runs: a Write need not set it
	flushing bool  // a flush is writing (outside mu)
	err      error // the socket failed or the connection closed: every Write fails
}

// New wraps c. Writes go straight through until Start. A zero timeout is
// 10 s.
func New(c net.Conn, linger, timeout time.Duration, max int) *Conn {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cc := &Conn{Conn: c, linger: linger, timeout: timeout, max: max}
	cc.cond.L = &cc.mu
	return cc
}

// Start combines the writes from now on. Calling it again does nothing.
func (c *Conn) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on.Load() {
		c.timer = time.AfterFunc(time.Hour, c.flush)
		c.timer.Stop()
		c.on.Store(true)
	}
}

// Combining reports whether Start was called.
func (c *Conn) Combining() bool { return c.on.Load() }

func (c *Conn) Write(p []byte) (int, error) {
	if !c.on.Load() {
		return c.Conn.Write(p)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && len(c.buf) >= c.max {
		c.cond.Wait()
	}
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	switch {
	case len(c.buf) >= c.max && !c.flushing:
		// Full: no reason to wait for company.
		c.armed = true
		c.timer.Reset(0)
	case !c.armed:
		c.armed = true
		c.timer.Reset(c.linger)
	}
	return len(p), nil
}

// flush runs on the timer's goroutine: it writes the buffer, then what came
// while it wrote, until nothing waits.
func (c *Conn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flushing {
		return
	}
	c.flushing = true
	defer func() { c.flushing = false; c.armed = false; c.cond.Broadcast() }()
	for c.err == nil && len(c.buf) > 0 {
		b := c.buf
		c.buf, c.spare = c.spare[:0], nil
		c.mu.Unlock()
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
		_, err := c.Conn.Write(b)
		c.mu.Lock()
		c.spare = b[:0]
		if err != nil && c.err == nil {
			c.err = err
			c.buf = nil
			// Close the socket so that the reader above fails now, not at
			// its next keep-alive; Close below finds c.err set.
			_ = c.Conn.Close()
		}
		c.cond.Broadcast()
	}
}

// SetWriteDeadline passes through until combining; then the connection
// bounds its own socket writes (see the package comment).
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.on.Load() {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets the read deadline, and the write deadline as
// SetWriteDeadline does.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// Close writes what waits, within closeTimeout at most, then closes the
// socket. Every later Write fails.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.on.Load() {
		for c.armed && c.err == nil {
			if !c.flushing && c.timer.Stop() {
				c.armed = false // the flush had not started: write here
				break
			}
			c.cond.Wait() // a flush runs: let it finish
		}
		if c.err == nil && len(c.buf) > 0 {
			_ = c.Conn.SetWriteDeadline(time.Now().Add(min(c.timeout, closeTimeout)))
			_, _ = c.Conn.Write(c.buf)
		}
		c.buf = nil
		if c.err == nil {
			c.err = net.ErrClosed
		}
		c.cond.Broadcast()
	}
	c.mu.Unlock()
	return c.Conn.Close()
}
