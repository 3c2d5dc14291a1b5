package sse

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the writes that reach the socket.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// combinedPair is a loopback TCP connection whose server side combines its
// writes (as after HTTP/2 was negotiated) over a socket that counts writes.
func combinedPair(t *testing.T, linger, timeout time.Duration) (srv *combiningConn, sock *countingConn, peer net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	peer, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sock = &countingConn{Conn: <-accepted}
	l := CombineListener(acceptOnce{sock}, linger, timeout)
	c, _ := l.Accept()
	srv = c.(*combiningConn)
	srv.combine()
	t.Cleanup(func() { srv.Close(); peer.Close() })
	return srv, sock, peer
}

// acceptOnce is a listener that hands out one given connection.
type acceptOnce struct{ c net.Conn }

func (a acceptOnce) Accept() (net.Conn, error) { return a.c, nil }
func (a acceptOnce) Close() error              { return nil }
func (a acceptOnce) Addr() net.Addr            { return a.c.LocalAddr() }

// Many small writes within the linger leave in one write(2), in order.
func TestCombiningConnJoinsWritesWithinTheLinger(t *testing.T) {
	srv, sock, peer := combinedPair(t, 50*time.Millisecond, time.Second)
	var want bytes.Buffer
	for i := range 100 {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, 200)
		want.Write(p)
		if n, err := srv.Write(p); n != len(p) || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	got := make([]byte, want.Len())
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("bytes differ or out of order")
	}
	if n := sock.writes.Load(); n != 1 {
		t.Fatalf("100 writes within the linger took %d socket writes, want 1", n)
	}
}

// Close sends what waits (the last frames, TLS's close_notify) before it
// closes, without waiting for the linger.
func TestCombiningConnCloseSendsWhatWaits(t *testing.T) {
	srv, _, peer := combinedPair(t, time.Hour, time.Second)
	if _, err := srv.Write([]byte("goodbye")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(peer)
	if err != nil || string(b) != "goodbye" {
		t.Fatalf("read %q, %v", b, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("close took %s", d)
	}
	if _, err := srv.Write([]byte("x")); err == nil {
		t.Fatal("a write after Close succeeded")
	}
}

// A peer that stops reading: the buffer fills, the socket write times out,
// and every write then fails (the HTTP/2 server ends the connection) rather
// than waiting for ever.
func TestCombiningConnStuckPeerFailsWithinTheTimeout(t *testing.T) {
	srv, _, _ := combinedPair(t, time.Millisecond, 200*time.Millisecond)
	p := make([]byte, 64<<10)
	start := time.Now()
	var err error
	for i := 0; i < 1000 && err == nil; i++ { // 64 MiB at most
		_, err = srv.Write(p)
	}
	if err == nil {
		t.Fatal("64 MiB written to a peer that reads nothing")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("failed only after %s", d)
	}
}

// Before HTTP/2 is negotiated (and on HTTP/1.1) writes go straight through.
func TestCombiningConnPassesThroughUntilCombining(t *testing.T) {
	srv, sock, peer := combinedPair(t, time.Hour, time.Second)
	srv.on.Store(false) // as accepted, before CombineHTTP2
	for range 3 {
		if _, err := srv.Write([]byte("abc")); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]byte, 9)
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(peer, got); err != nil || string(got) != "abcabcabc" {
		t.Fatalf("read %q, %v", got, err)
	}
	if n := sock.writes.Load(); n != 3 {
		t.Fatalf("%d socket writes, want 3 (no combining)", n)
	}
}
