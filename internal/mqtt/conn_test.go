package mqtt

import (
	"io"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// TestConnCombinesWritesAndBuffersReads: the client's connection combines
// a hundred PUBACKs into one write(2) (the combining is package combine's,
// tested there), and reads a hundred packets, which Paho asks for a few
// bytes at a time, in a few read(2)s.
func TestConnCombinesWritesAndBuffersReads(t *testing.T) {
	sock, peer := testenv.TCPPair(t)
	raw := &testenv.CountingConn{Conn: sock}
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
	if n := raw.Writes.Load(); n != 1 {
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
	if n := raw.Reads.Load(); n > 5 {
		t.Errorf("%d read(2)s for 100 packets; the reads are not buffered", n)
	}
}
