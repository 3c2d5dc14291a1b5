package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Transports of the subscribers.
const (
	TransportSSE = "sse"
	TransportWS  = "ws" // /api/crowd-risk/ws, one JSON text message per event
)

// streamPath is where the subscribers connect for the configured transport.
func streamPath(cfg Config) string {
	if cfg.Transport == TransportWS {
		return "/api/crowd-risk/ws?topics=" + url.QueryEscape(cfg.Topics)
	}
	return "/api/crowd-risk/stream?topics=" + url.QueryEscape(cfg.Topics)
}

// openWS is open for WebSocket subscribers: the same counters, failures
// and closing as the SSE streams, a different handshake and framing.
func (s *streams) openWS(ctx context.Context, path string, n, concurrency int, timeout time.Duration) (made, failed int) {
	req := s.wsRequest(path)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sem := make(chan struct{}, concurrency)
	results := make(chan error, n)
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results <- ctx.Err()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.runWS(ctx, req, func(err error) { <-sem; results <- err })
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-results; err != nil {
			failed++
			s.fail(err)
		} else {
			made++
		}
	}
	return made, failed
}

// wsRequest is the handshake without its key, which each connection adds.
// The token rides in the Authorization header, as a non-browser client's
// does (a browser's WebSocket sends the session cookie instead).
func (s *streams) wsRequest(path string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nUser-Agent: crowdrisk-bench\r\n", path, s.host)
	if auth := bytes.Index(s.req, []byte("Authorization: ")); auth >= 0 {
		end := bytes.Index(s.req[auth:], []byte("\r\n"))
		b.Write(s.req[auth : auth+end+2])
	}
	return b.Bytes()
}

// runWS is one WebSocket subscriber: connect, handshake, then read frames
// until closed. Like the SSE reader it is written by hand over raw TCP, so
// the two transports cost the load generator about the same and the
// comparison measures the server.
func (s *streams) runWS(ctx context.Context, req []byte, ready func(error)) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	hs := append(append([]byte(nil), req...), "Sec-WebSocket-Key: "+key+"\r\n\r\n"...)
	conn, br, resp, err := s.connect(ctx, hs, 2048, http.StatusSwitchingProtocols)
	if err != nil {
		ready(err)
		return
	}
	if resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		ready(errors.New("bad Sec-WebSocket-Accept"))
		return
	}
	fr := &frameReader{r: br}
	s.consume(conn, fr.next, "websocket", ready, nil, s.arriveWS)
}

// arriveWS hands a message to arrive in the SSE payload's shape: a density
// event is {"id":…,"topic":"density","type":"density","data":…}, and from
// its "type" key on it is the SSE payload, so the brace goes there (the
// buffer is ours until the next frame).
func (s *streams) arriveWS(data []byte) {
	head := data[:min(len(data), 96)]
	i := bytes.Index(head, []byte(`"type":"density"`))
	if i < 1 {
		s.other.Add(1)
		return
	}
	data[i-1] = '{'
	s.arrive(data[i-1:])
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// frameReader reads the server's unmasked frames (RFC 6455 section 5.2) and
// returns each complete text message, reassembling fragments; control frames
// other than close are skipped (the server sends no pings).
type frameReader struct {
	r   *bufio.Reader
	hdr [8]byte
	buf []byte
}

var errClosed = errors.New("closed by the server")

func (f *frameReader) next() ([]byte, error) {
	f.buf = f.buf[:0]
	for {
		if _, err := io.ReadFull(f.r, f.hdr[:2]); err != nil {
			return nil, err
		}
		fin, op := f.hdr[0]&0x80 != 0, f.hdr[0]&0x0f
		if f.hdr[1]&0x80 != 0 {
			return nil, errors.New("masked frame from the server")
		}
		n := uint64(f.hdr[1] & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(f.r, f.hdr[:2]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(f.hdr[:2]))
		case 127:
			if _, err := io.ReadFull(f.r, f.hdr[:8]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(f.hdr[:8])
		}
		if n > 16<<20 {
			return nil, fmt.Errorf("frame of %d bytes", n)
		}
		if op >= 8 { // control: close ends, ping and pong are skipped
			if _, err := f.r.Discard(int(n)); err != nil {
				return nil, err
			}
			if op == 8 {
				return nil, errClosed
			}
			continue
		}
		start := len(f.buf)
		f.buf = append(f.buf, make([]byte, n)...)
		if _, err := io.ReadFull(f.r, f.buf[start:]); err != nil {
			return nil, err
		}
		if fin {
			return f.buf, nil
		}
	}
}
