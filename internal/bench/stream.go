package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// streams is the set of SSE subscribers: each one a raw TCP connection
// with a hand-written GET, read by one goroutine with small buffers.
type streams struct {
	host  string
	req   []byte
	table *sentTable
	hist  *histogram

	received    atomic.Int64 // arrivals of readings this run sent
	lastArrival atomic.Int64 // ns since table.start
	other       atomic.Int64 // other messages (connected, snapshot, alerts...)
	lost        atomic.Int64 // streams that ended before the benchmark closed them
	closing     atomic.Bool

	poll *poller // reads the streams after their handshake (nil: each its own goroutine)

	mu    sync.Mutex
	conns []net.Conn
	errs  map[string]int // failure reasons, counted
	wg    sync.WaitGroup
}

func newStreams(host, path, token string, table *sentTable, hist *histogram) *streams {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: crowdrisk-bench\r\n", path, host)
	if token != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", token)
	}
	b.WriteString("\r\n")
	s := &streams{host: host, req: b.Bytes(), table: table, hist: hist, errs: map[string]int{}}
	s.poll = newPoller(s)
	return s
}

// open opens n streams, at most concurrency handshakes at a time, and waits
// until each has received its "connected" message or failed.
func (s *streams) open(ctx context.Context, n, concurrency int, timeout time.Duration) (made, failed int) {
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
			s.run(ctx, func(err error) { <-sem; results <- err })
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

func (s *streams) fail(err error) {
	msg := err.Error()
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Err != nil {
		msg = ne.Op + ": " + ne.Err.Error() // drop the per-connection addresses
	}
	s.mu.Lock()
	s.errs[msg]++
	s.mu.Unlock()
}

// run is one subscriber: connect, handshake, then read until closed. ready
// is called exactly once, with nil after the "connected" message.
func (s *streams) run(ctx context.Context, ready func(error)) {
	conn, br, resp, err := s.connect(ctx, s.req, 1024, http.StatusOK)
	if err != nil {
		ready(err)
		return
	}
	r := &eventReader{r: bufio.NewReaderSize(resp.Body, 2048)}
	s.consume(conn, r.next, "stream", ready, func() bool {
		// A plain stream (no chunked framing, no compression) is read by
		// the poller from here on, with what was read past the handshake.
		if s.poll == nil || len(resp.TransferEncoding) != 0 || resp.Header.Get("Content-Encoding") != "" {
			return false
		}
		rest, _ := r.r.Peek(r.r.Buffered())
		more, _ := br.Peek(br.Buffered())
		return s.poll.add(conn, append(append([]byte(nil), rest...), more...))
	}, s.arrive)
}

// connect dials the engine and sends a subscriber's handshake; the
// connection is tracked (closed with the benchmark) and held to ctx's
// deadline until consume has the first message.
func (s *streams) connect(ctx context.Context, handshake []byte, bufSize, want int) (net.Conn, *bufio.Reader, *http.Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.host)
	if err != nil {
		return nil, nil, nil, err
	}
	if !s.track(conn) {
		conn.Close()
		return nil, nil, nil, errors.New("benchmark closing")
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	if _, err := conn.Write(handshake); err != nil {
		return nil, nil, nil, err
	}
	br := bufio.NewReaderSize(conn, bufSize)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return nil, nil, nil, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return conn, br, resp, nil
}

// consume reads one subscriber's messages with next until its stream ends.
// The first must be the connected message: ready gets nil then (and an
// error instead if it is not), conn (if any) loses its deadline, and
// started (if any) may take the stream over, returning true. The rest go
// to arrive; an end that the benchmark did not cause counts as a lost
// stream of kind.
func (s *streams) consume(conn net.Conn, next func() ([]byte, error), kind string, ready func(error), started func() bool, arrive func([]byte)) {
	data, err := next()
	if err == nil && !bytes.HasPrefix(data, []byte(`{"type":"connected"`)) {
		err = fmt.Errorf("first message is not connected: %.80q", data)
	}
	if err != nil {
		ready(err)
		return
	}
	if conn != nil {
		_ = conn.SetDeadline(time.Time{})
	}
	ready(nil)
	if started != nil && started() {
		return
	}
	for {
		data, err := next()
		if err != nil {
			if !s.closing.Load() {
				s.lost.Add(1)
				s.fail(fmt.Errorf("%s lost: %w", kind, err))
			}
			return
		}
		arrive(data)
	}
}

func (s *streams) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns = append(s.conns, c)
	return true
}

// arrive handles one message. Only readings this run sent count: snapshot
// and other messages are ignored.
func (s *streams) arrive(data []byte) {
	zone, ts, ok := parseDensity(data)
	if !ok {
		s.other.Add(1)
		return
	}
	sent := s.table.lookup(zone, ts)
	if sent == nil {
		s.other.Add(1)
		return
	}
	now := s.table.now()
	s.hist.record(time.Duration(now - sent.at))
	sent.got.Add(1)
	s.received.Add(1)
	for {
		last := s.lastArrival.Load()
		if now <= last || s.lastArrival.CompareAndSwap(last, now) {
			break
		}
	}
}

// close ends every stream and waits for the readers.
func (s *streams) close() {
	s.mu.Lock()
	s.closing.Store(true)
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	s.wg.Wait()
	if s.poll != nil {
		s.poll.close()
	}
}

func (s *streams) failures() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.errs))
	for k, v := range s.errs {
		out[k] = v
	}
	return out
}

// eventReader is a minimal text/event-stream reader: it returns the data of
// each dispatched event (data lines joined with LF) and skips comments, ids
// and retry fields. It assumes what the engine writes (LF line ends, "data:"
// with one space); internal/sse's Parser is the spec-complete reader, and the
// tests check this one against it.
type eventReader struct {
	r    *bufio.Reader
	data []byte
	long []byte // a line longer than the buffer, assembled
	has  bool
}

func (e *eventReader) next() ([]byte, error) {
	e.data, e.has = e.data[:0], false
	for {
		line, err := e.line()
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			if e.has {
				return e.data, nil
			}
			continue
		}
		if !bytes.HasPrefix(line, []byte("data:")) {
			continue // comment, id, retry, event
		}
		v := line[5:]
		if len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
		if e.has {
			e.data = append(e.data, '\n')
		}
		e.data = append(e.data, v...)
		e.has = true
	}
}

// line returns the next line without its end; valid until the next call.
func (e *eventReader) line() ([]byte, error) {
	line, err := e.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		e.long = append(e.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = e.r.ReadSlice('\n')
			e.long = append(e.long, line...)
		}
		line = e.long
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseDensity finds a density message's zone id and reading timestamp
// without decoding the JSON: the client has to keep up with 200,000
// messages a second on one core. The zone id is the first "zoneId" and the
// timestamp the reading's own (a DensityReading has one "timestamp" key;
// the forecast's instant is "at").
func parseDensity(b []byte) (zone []byte, ts int64, ok bool) {
	if !bytes.HasPrefix(b, []byte(`{"type":"density"`)) {
		return nil, 0, false
	}
	const zk, tk = `"zoneId":"`, `"timestamp":`
	i := bytes.Index(b, []byte(zk))
	if i < 0 {
		return nil, 0, false
	}
	rest := b[i+len(zk):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil, 0, false
	}
	zone, rest = rest[:j], rest[j:]
	k := bytes.Index(rest, []byte(tk))
	if k < 0 {
		return nil, 0, false
	}
	rest = rest[k+len(tk):]
	n := 0
	for ; n < len(rest) && n < 18 && rest[n] >= '0' && rest[n] <= '9'; n++ {
		ts = ts*10 + int64(rest[n]-'0')
	}
	return zone, ts, n > 0
}
