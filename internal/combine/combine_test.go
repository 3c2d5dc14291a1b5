package combine

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// pair is a loopback TCP connection whose one side combines its writes
// (started) over a socket that counts them; peer is the other side.
func pair(t *testing.T, linger, timeout time.Duration, max int) (c *Conn, sock *testenv.CountingConn, peer net.Conn) {
	t.Helper()
	raw, peer := testenv.TCPPair(t)
	sock = &testenv.CountingConn{Conn: raw}
	c = New(sock, linger, timeout, max)
	c.Start()
	t.Cleanup(func() { c.Close() })
	return c, sock, peer
}

func readN(t *testing.T, peer net.Conn, n int) []byte {
	t.Helper()
	got := make([]byte, n)
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatalf("the peer read %v", err)
	}
	return got
}

// Many small writes within the linger leave in one write(2), in order, and
// a lone write is not held beyond the linger.
func TestWritesWithinTheLingerLeaveTogether(t *testing.T) {
	c, sock, peer := pair(t, 50*time.Millisecond, time.Second, 1<<20)
	var want bytes.Buffer
	for i := range 100 {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, 200)
		want.Write(p)
		if n, err := c.Write(p); n != len(p) || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	if !bytes.Equal(readN(t, peer, want.Len()), want.Bytes()) {
		t.Fatal("bytes differ or out of order")
	}
	if n := sock.Writes.Load(); n != 1 {
		t.Fatalf("100 writes within the linger took %d socket writes, want 1", n)
	}
	start := time.Now()
	c.Write([]byte{0xc0, 0x00})
	readN(t, peer, 2)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a lone write arrived after %s", d)
	}
}

// A full buffer goes at once, without waiting for the linger.
func TestAFullBufferDoesNotWaitForTheLinger(t *testing.T) {
	c, _, peer := pair(t, time.Hour, time.Second, 1024)
	p := bytes.Repeat([]byte("x"), 1024)
	if _, err := c.Write(p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readN(t, peer, len(p)), p) {
		t.Fatal("bytes differ")
	}
}

// Close sends what waits before it closes, without waiting for the linger,
// and every later write fails.
func TestCloseSendsWhatWaits(t *testing.T) {
	c, _, peer := pair(t, time.Hour, time.Second, 1<<20)
	if _, err := c.Write([]byte("goodbye")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Close(); err != nil {
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
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("a write after Close succeeded")
	}
}

// A peer that stops reading: the buffer fills, the socket write times out,
// and every write then fails rather than waiting for ever.
func TestAStuckPeerFailsWithinTheTimeout(t *testing.T) {
	c, _, _ := pair(t, time.Millisecond, 200*time.Millisecond, 1<<20)
	p := make([]byte, 64<<10)
	start := time.Now()
	var err error
	for i := 0; i < 1000 && err == nil; i++ { // 64 MiB at most
		_, err = c.Write(p)
	}
	if err == nil {
		t.Fatal("64 MiB written to a peer that reads nothing")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("failed only after %s", d)
	}
}

// A socket that fails closes the connection, so a reader above sees it at
// once, and every later write fails.
func TestAFailedSocketFailsReadsAndWrites(t *testing.T) {
	c, sock, _ := pair(t, time.Millisecond, time.Second, 1<<20)
	sock.Conn.Close() // the socket goes away under the writer
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := c.Write([]byte("more")); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("writes kept succeeding on a closed socket")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("a read on the failed connection succeeded")
	}
}

// Before Start, writes go straight through, one write(2) each, and
// deadlines pass through.
func TestWritesPassThroughUntilStart(t *testing.T) {
	c, sock, peer := pair(t, time.Hour, time.Second, 1<<20)
	c.on.Store(false) // as made by New
	for range 3 {
		if _, err := c.Write([]byte("abc")); err != nil {
			t.Fatal(err)
		}
	}
	if got := readN(t, peer, 9); string(got) != "abcabcabc" {
		t.Fatalf("read %q", got)
	}
	if n := sock.Writes.Load(); n != 3 {
		t.Fatalf("%d socket writes, want 3 (no combining)", n)
	}
	if err := c.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("a deadline in the past did not reach the socket")
	}
}
