package mqtt

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// The connection under the MQTT client. Paho reads a packet's fixed header
// a byte at a time from the socket and writes every packet, each PUBACK
// included, with a write(2) of its own: at one reading per message that
// was a third of the engine's CPU (BENCHMARKS.md, "MQTT ingest"). Here reads
// go through a buffer, and writes are combined: a packet is copied to a
// buffer and leaves, with whatever else came meanwhile, in one write(2) at
// most linger after it came.
//
// The connection owns its socket's write deadline: each write(2) must be
// done within writeTimeout, else the connection is closed, which the
// client's reader sees at once (and Subscriber.Run reconnects). A write the
// client made before that is then lost with the connection, as it would
// have been in the socket's buffer: MQTT's acknowledgements make it good
// (an unacknowledged message comes again).

const (
	// combineLinger bounds how long a packet may wait for company: a
	// PUBACK a millisecond later costs the broker nothing (its window of
	// unacknowledged messages is a thousand), a write(2) per message costs
	// the engine dearly.
	combineLinger = time.Millisecond
	// combineMax is how much may wait before a write goes to the socket at
	// once, and the read buffer's size.
	combineMax = 64 << 10
)

// openConn is Paho's OpenConnectionFunc: the dial Paho would make for the
// broker's scheme (plain TCP, or TLS with the options' configuration),
// under a combining connection.
func openConn(uri *url.URL, o paho.ClientOptions) (net.Conn, error) {
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	var c net.Conn
	var err error
	switch uri.Scheme {
	case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		c, err = tls.DialWithDialer(d, "tcp", uri.Host, o.TLSConfig)
	default:
		c, err = d.Dial("tcp", uri.Host)
	}
	if err != nil {
		return nil, err
	}
	return newCombiningConn(c, combineLinger, o.WriteTimeout), nil
}

type combiningConn struct {
	net.Conn
	r            *bufio.Reader
	linger       time.Duration
	writeTimeout time.Duration

	mu    sync.Mutex
	buf   []byte
	armed bool  // a flush is scheduled
	err   error // the socket failed: every later write fails
}

func newCombiningConn(c net.Conn, linger, writeTimeout time.Duration) *combiningConn {
	if writeTimeout <= 0 {
		writeTimeout = 10 * time.Second
	}
	return &combiningConn{Conn: c, r: bufio.NewReaderSize(c, combineMax), linger: linger, writeTimeout: writeTimeout}
}

func (c *combiningConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *combiningConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= combineMax {
		return len(p), c.flushLocked()
	}
	if !c.armed {
		c.armed = true
		time.AfterFunc(c.linger, c.flush)
	}
	return len(p), nil
}

// SetWriteDeadline is the client's per-packet deadline: a buffered write
// cannot be late, and the socket's own writes have theirs (flushLocked).
func (c *combiningConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets the read side only, for the same reason.
func (c *combiningConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }

func (c *combiningConn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	c.flushLocked()
}

func (c *combiningConn) flushLocked() error {
	if c.err != nil || len(c.buf) == 0 {
		return c.err
	}
	c.Conn.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	if err != nil {
		c.err = err
		c.Conn.Close() // the client's reader fails now, not at the next keep-alive
		return err
	}
	c.Conn.SetWriteDeadline(time.Time{})
	return nil
}

// Close sends what waits (a DISCONNECT, the last acknowledgements), then
// closes.
func (c *combiningConn) Close() error {
	c.mu.Lock()
	c.flushLocked()
	c.err = net.ErrClosed
	c.mu.Unlock()
	return c.Conn.Close()
}
