package sse

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/combine"
)

// Write combining for HTTP/2 connections (package combine).
//
// The HTTP/2 server (h2server.go) writes its connection's frames into a 4 KiB
// buffer and flushes it, through TLS, with one write(2) whenever its queue
// of frames runs empty. A stream's handler waits for its frame to be taken
// before it goes on, so on a server with one core the queue is empty after
// almost every frame: each delivery became its own TLS record, its own
// write(2) and (on loopback) the client's receive work on the server's
// core, about 30 µs of CPU per delivery measured (BENCHMARKS.md). Batching
// came only when the server fell behind, seconds late.
//
// A combining connection sits under TLS. Once its TLS session negotiated
// HTTP/2 (CombineHTTP2, an http.Server ConnState hook), the frames of a
// connection's hundred streams leave together, at most linger late.
// HTTP/1.1 connections, TLS or not, are never combined (the writer pool
// writes plain HTTP/1.1 streams itself).

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
	return combine.New(c, l.linger, l.timeout, combineMax), nil
}

// CombineHTTP2 is an http.Server ConnState hook: a TLS connection accepted
// by CombineListener combines its writes from when it negotiated HTTP/2
// and its first stream became active (the handshake's writes have
// returned by then, so no combined write can overtake them).
func CombineHTTP2(c net.Conn, state http.ConnState) {
	if state != http.StateActive {
		return
	}
	tc, ok := c.(*tls.Conn)
	if !ok || tc.ConnectionState().NegotiatedProtocol != "h2" {
		return
	}
	if cc, ok := tc.NetConn().(*combine.Conn); ok {
		cc.Start()
	}
}

// combineMax is how much may wait in a connection's buffer before a Write
// waits for the socket: the back-pressure of a slow client's connection.
const combineMax = 1 << 20
