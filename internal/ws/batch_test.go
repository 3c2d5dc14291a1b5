package ws

import (
	"net"
	"testing"
	"time"
)

// countingConn records the writes that reach the socket.
type countingConn struct {
	net.Conn
	writes    []string
	deadlines int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, string(p))
	return len(p), nil
}

func (c *countingConn) SetWriteDeadline(time.Time) error { c.deadlines++; return nil }

func TestBatchConnWritesABatchOnce(t *testing.T) {
	sock := &countingConn{}
	b := &batchConn{Conn: sock, timeout: time.Second}
	b.Write([]byte("direct"))
	b.begin()
	b.Write([]byte("a"))
	b.begin() // a reply sent while the writer's batch is open
	b.Write([]byte("r"))
	b.flush()
	b.Write([]byte("b"))
	if len(sock.writes) != 1 {
		t.Fatalf("wrote %q before the batch ended", sock.writes)
	}
	b.flush()
	b.flush() // an extra flush writes nothing
	if want := []string{"direct", "arb"}; len(sock.writes) != 2 || sock.writes[1] != want[1] {
		t.Fatalf("writes %q, want %q", sock.writes, want)
	}
	if sock.deadlines != 2 {
		t.Errorf("%d deadlines set, want one per socket write", sock.deadlines)
	}
	b.begin() // still holds after the extra flush
	b.Write([]byte("c"))
	if len(sock.writes) != 2 {
		t.Fatalf("an unbalanced flush broke the next batch: %q", sock.writes)
	}
}
