package ws

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"
)

// batchConn is the socket under the library. The library flushes every
// message with its own write(2); while the writer sends a batch, this holds
// those writes and lets them out in one, as the SSE writer does with a
// batch of events. A client that falls behind then catches up in a few
// large writes instead of paying a system call per event (on one core that
// was the difference between keeping up and not). Outside a batch (replies,
// close frames) writes go straight through. Every write to the socket has
// the write timeout as its deadline, so the library needs no timer of its
// own per message.
type batchConn struct {
	net.Conn
	timeout time.Duration

	mu   sync.Mutex
	hold int // batches open: the writer's, and a reply's sent meanwhile
	buf  []byte
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hold > 0 {
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	return b.writeLocked(p)
}

func (b *batchConn) writeLocked(p []byte) (int, error) {
	if err := b.Conn.SetWriteDeadline(time.Now().Add(b.timeout)); err != nil {
		return 0, err
	}
	return b.Conn.Write(p)
}

// begin holds writes until the matching flush.
func (b *batchConn) begin() {
	b.mu.Lock()
	b.hold++
	b.mu.Unlock()
}

// flush ends a batch; the last one open writes what was held, in one write.
func (b *batchConn) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hold > 0 {
		b.hold--
	}
	if b.hold > 0 || len(b.buf) == 0 {
		return nil
	}
	_, err := b.writeLocked(b.buf)
	if cap(b.buf) > 64<<10 {
		b.buf = nil // a burst's buffer is not kept by an idle connection
	} else {
		b.buf = b.buf[:0]
	}
	return err
}

// hijacker hands the library a batchConn instead of the bare socket.
type hijacker struct {
	http.ResponseWriter
	timeout time.Duration
	conn    *batchConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// Whatever net/http still buffers (the 101 head) goes out first.
	if err := brw.Writer.Flush(); err != nil {
		c.Close()
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: c, timeout: h.timeout}
	return h.conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(h.conn, 4096)), nil
}
