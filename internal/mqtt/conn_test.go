package mqtt

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the read(2)s and write(2)s made on a real socket.
type countingConn struct {
	net.Conn
	reads, writes atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// loopback is a real TCP connection pair on 127.0.0.1.
func loopback(t *testing.T) (client *countingConn, server net.Conn) {
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
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	t.Cleanup(func() { c.Close(); server.Close() })
	return &countingConn{Conn: c}, server
}

// TestConnCombinesWritesAndBuffersReads: the client's connection combines
// a hundred PUBACKs into one write(2) (the combining is package combine's,
// tested there), and reads a hundred packets, which Paho asks for a few
// bytes at a time, in a few read(2)s.
func TestConnCombinesWritesAndBuffersReads(t *testing.T) {
	raw, peer := loopback(t)
	c := newCombiningConn(raw, 20*time.Millisecond, time.Second)
	var want []byte
	for i := range 100 {
		p := []byte{0x40, 0x02, 0x00, byte(i)} // a PUBACK
		want = append(want, p...)
		if n, err := c.Write(p); n != len(p) || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	got := make([]byte, len(want))
	peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatalf("the peer read %v", err)
	}
	if string(got) != string(want) {
		t.Fatal("the bytes arrived changed or out of order")
	}
	if n := raw.writes.Load(); n != 1 {
		t.Errorf("%d write(2)s for 100 packets, want 1", n)
	}

	if _, err := peer.Write(want); err != nil { // a hundred packets the other way
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(2 * time.Second))
	for i := range 100 {
		var hdr [2]byte
		if _, err := io.ReadFull(c, hdr[:1]); err != nil { // as Paho reads: a byte,
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, hdr[1:]); err != nil { // then the length,
			t.Fatal(err)
		}
		body := make([]byte, hdr[1]) // then the rest
		if _, err := io.ReadFull(c, body); err != nil || body[1] != byte(i) {
			t.Fatalf("packet %d: %v %v", i, body, err)
		}
	}
	if n := raw.reads.Load(); n > 5 {
		t.Errorf("%d read(2)s for 100 packets; the reads are not buffered", n)
	}
}
