package sse

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Write combining for HTTP/2 connections.
//
// net/http's HTTP/2 server writes its connection's frames into a 4 KiB
// buffer and flushes it, through TLS, with one write(2) whenever its queue
// of frames runs empty. A stream's handler waits for its frame to be taken
// before it goes on, so on a server with one core the queue is empty after
// almost every frame: each delivery became its own TLS record, its own
// write(2) and (on loopback) the client's receive work on the server's
// core, about 30 µs of CPU per delivery measured (BENCHMARKS.md). Batching
// came only when the server fell behind, seconds late.
//
// A combining connection sits under TLS. Once its TLS session negotiated
// HTTP/2 (CombineHTTP2, an http.Server ConnState hook), a write is copied to
// a buffer and returns; the buffer goes to the socket in one write(2) at
// most linger after its first byte came, with what else came meanwhile:
// the frames of a connection's hundred streams leave together. It adds at
// most linger to a delivery. HTTP/1.1 connections, TLS or not, are never
// combined (the writer pool writes plain HTTP/1.1 streams itself).
//
// The combining connection owns its socket's write deadline: every write(2)
// it makes must be done within timeout, else the connection is closed and
// every write to it fails (the HTTP/2 server then ends the connection's
// streams, which resume from their last id). Deadlines set from above are
// ignored once combining, as a buffered write cannot be late.

// CombineListener wraps l so that the HTTP/2 connections it accepts can
// combine their writes (see CombineHTTP2), waiting at most linger, and
// drop a connection whose socket takes no write for timeout.
func CombineListener(l net.Listener, linger, timeout time.Duration) net.Listener {
	return &combineListener{Listener: l, linger: linger, timeout: timeout}
}

type combineListener struct {
	net.Listener
	linger, timeout time.Duration
}

func (l *combineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &combiningConn{Conn: c, linger: l.linger, timeout: l.timeout}
	cc.cond.L = &cc.mu
	return cc, nil
}

// CombineHTTP2 is an http.Server ConnState hook: a TLS connection accepted
// by CombineListener combines its writes from when it negotiated HTTP/2
// and its first stream became active.
func CombineHTTP2(c net.Conn, state http.ConnState) {
	if state != http.StateActive {
		return
	}
	tc, ok := c.(*tls.Conn)
	if !ok || tc.ConnectionState().NegotiatedProtocol != "h2" {
		return
	}
	if cc, ok := tc.NetConn().(*combiningConn); ok {
		cc.combine()
	}
}

// combineMax is how much may wait in a connection's buffer before a Write
// waits for the socket: the back-pressure of a slow client's connection.
const combineMax = 1 << 20

type combiningConn struct {
	net.Conn
	linger, timeout time.Duration

	// on: combining (HTTP/2 negotiated). It is set once, from the HTTP/2
	// server's goroutine, which has at most one write in flight and starts
	// the next only when it returned: no combined write can overtake a
	// direct one.
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

func (c *combiningConn) combine() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on.Load() {
		c.timer = time.AfterFunc(time.Hour, c.flush)
		c.timer.Stop()
		c.on.Store(true)
	}
}

func (c *combiningConn) Write(p []byte) (int, error) {
	if !c.on.Load() {
		// Before HTTP/2 is negotiated (the handshake), and HTTP/1.1.
		return c.Conn.Write(p)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && len(c.buf) >= combineMax {
		c.cond.Wait()
	}
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	if !c.armed {
		c.armed = true
		c.timer.Reset(c.linger)
	}
	return len(p), nil
}

// flush runs on the timer's goroutine: it writes the buffer, then what came
// while it wrote, until nothing waits.
func (c *combiningConn) flush() {
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
			// Close the socket so the HTTP/2 server's reader ends the
			// connection too; Close below will find c.err set.
			_ = c.Conn.Close()
		}
		c.cond.Broadcast()
	}
}

// SetWriteDeadline passes through until combining; then the connection
// bounds its own socket writes (see above).
func (c *combiningConn) SetWriteDeadline(t time.Time) error {
	if c.on.Load() {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *combiningConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// Close writes what waits (the HTTP/2 server's last frames, TLS's
// close_notify), within a second at most, then closes the socket.
func (c *combiningConn) Close() error {
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
			_ = c.Conn.SetWriteDeadline(time.Now().Add(min(c.timeout, goodbyeTimeout)))
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
