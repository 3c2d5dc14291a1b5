package mqtt

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the write(2)s made on a real socket.
type countingConn struct {
	net.Conn
	writes atomic.Int64
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

// TestCombiningConnOneWriteForMany: a hundred packets written within the
// linger leave in one write(2), in order, and nothing is held longer than
// the linger.
func TestCombiningConnOneWriteForMany(t *testing.T) {
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
	// A lone packet is not held beyond the linger.
	start := time.Now()
	c.Write([]byte{0xc0, 0x00}) // PINGREQ
	if _, err := io.ReadFull(peer, make([]byte, 2)); err != nil || time.Since(start) > time.Second {
		t.Fatalf("a lone packet: %v after %v", err, time.Since(start))
	}
}

// TestCombiningConnFailsLoudly: a socket that fails closes the connection,
// so the client's reader sees it at once, and every later write fails;
// Close sends what was waiting first.
func TestCombiningConnFailsLoudly(t *testing.T) {
	raw, peer := loopback(t)
	c := newCombiningConn(raw, time.Hour, time.Second) // only Close flushes
	c.Write([]byte("last acknowledgements"))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(peer)
	if string(got) != "last acknowledgements" {
		t.Errorf("after Close the peer read %q", got)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Error("a write after Close succeeded")
	}

	raw2, _ := loopback(t)
	c2 := newCombiningConn(raw2, time.Millisecond, time.Second)
	raw2.Conn.Close() // the socket goes away under the client
	c2.Write([]byte("lost"))
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := c2.Write([]byte("more"))
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				t.Logf("later write: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("writes kept succeeding on a closed socket")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := c2.Read(make([]byte, 1)); err == nil {
		t.Error("a read on the failed connection succeeded")
	}
}
