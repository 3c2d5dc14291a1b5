package testenv

import (
	"net"
	"sync/atomic"
	"testing"
)

// TCPPair is a real TCP connection on 127.0.0.1, both ends, closed when the
// test ends: for code whose cost or behaviour is the socket's (write
// combining, buffering), which a net.Pipe would not show.
func TCPPair(t testing.TB) (dialed, accepted net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	dialed, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted = <-ch
	if accepted == nil {
		t.Fatal("testenv: accept failed")
	}
	t.Cleanup(func() { dialed.Close(); accepted.Close() })
	return dialed, accepted
}

// CountingConn counts the reads and writes that reach the connection it
// wraps: on a socket, its read(2)s and write(2)s.
type CountingConn struct {
	net.Conn
	Reads, Writes atomic.Int64
}

func (c *CountingConn) Read(p []byte) (int, error) {
	c.Reads.Add(1)
	return c.Conn.Read(p)
}

func (c *CountingConn) Write(p []byte) (int, error) {
	c.Writes.Add(1)
	return c.Conn.Write(p)
}
