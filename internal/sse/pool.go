package sse

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/hub"
)

// The writer pool serves every hijacked stream with a few goroutines. A
// stream is only touched when its subscriber has something pending (an
// event or a heartbeat): the hub calls notify, the stream joins the run
// queue, and a worker takes its batch and writes it.
//
// A write never waits: on a TCP connection it is one non-blocking write(2)
// (anything else, such as TLS, gets a short deadline instead), and whatever
// a full socket did not take is kept as the stream's leftover and retried by
// the retry timer, while the worker moves on to the next stream. A stream
// whose leftover is older than the write timeout is dropped (it resumes
// from its last id).
//
// Nothing runs before the first stream: the workers start when a stream is
// added (a server built by a start-up that then fails leaves no goroutine
// behind), and the retry timer is armed only while a stream is blocked.

const (
	writeSlice    = 2 * time.Millisecond // for connections without a raw fd
	retryInterval = 5 * time.Millisecond
)

type streamState uint8

const (
	stIdle    streamState = iota // nothing pending
	stQueued                     // in the run queue
	stRunning                    // a worker has it
	stBlocked                    // a write did not finish; in the retry list
	stClosed
)

// stream is one hijacked connection. state, again and leftover are guarded
// by the pool's mutex, except while a worker has the stream (stRunning),
// when only that worker touches leftover.
type stream struct {
	sub  *hub.Subscriber
	conn net.Conn
	// fd is the socket's descriptor, written directly (raw): the fd
	// stays valid because only the worker that holds the stream, or the
	// shutdown after taking it, ever closes conn, never during a write.
	fd     int
	raw    bool // false when conn has no descriptor of its own (TLS)
	client string
	end    func()
	wire   *wire

	state        streamState
	again        bool   // notified while running: queue again when done
	closing      bool   // shut down once the running worker is done
	why          ending // what its goodbye says
	leftover     []byte
	blockedSince time.Time
}

type pool struct {
	s       *Server
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*stream // FIFO run queue
	head    int
	blocked []*stream
	streams map[*stream]struct{}
	leaving bool // shutdown has begun: streams added now are sent away at once
	stopped bool
	started bool        // the workers run
	retry   *time.Timer // armed while blocked is not empty
	wg      sync.WaitGroup
}

func newPool(s *Server) *pool {
	p := &pool{s: s, streams: map[*stream]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// startLocked starts the workers, once, with the first stream.
func (p *pool) startLocked() {
	if p.started {
		return
	}
	p.started = true
	workers := max(4, 2*runtime.GOMAXPROCS(0))
	p.wg.Add(workers)
	for i := 0; i < workers; i++ {
		go p.work()
	}
}

// add takes over a stream whose first frames are written.
func (p *pool) add(st *stream) {
	st.fd, st.raw = rawFD(st.conn)
	p.mu.Lock()
	if p.leaving {
		// The stream's head went out just as the shutdown began: tell it
		// when to come back like every other.
		p.mu.Unlock()
		_ = st.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = st.conn.Write(p.s.goodbye(nil, st.wire, ending{}))
		st.conn.Close()
		st.end()
		return
	}
	p.startLocked()
	p.streams[st] = struct{}{}
	p.mu.Unlock()
	st.sub.SetNotify(func() { p.notify(st) })
}

func (p *pool) notify(st *stream) {
	p.mu.Lock()
	switch st.state {
	case stIdle:
		st.state = stQueued
		p.queue = append(p.queue, st)
		p.cond.Signal()
	case stRunning:
		st.again = true
	}
	p.mu.Unlock()
}

// next blocks for a queued stream; nil when the pool stops.
// grab is how many queued streams a worker takes per visit to the queue,
// so that the pool's lock is taken twice per grab rather than per stream.
const grab = 32

// next blocks until streams are queued and moves up to grab of them into
// mine; false when the pool stops.
func (p *pool) next(mine []*stream) ([]*stream, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		for p.head == len(p.queue) {
			if p.stopped {
				return mine, false
			}
			p.cond.Wait()
		}
		for p.head < len(p.queue) && len(mine) < grab {
			st := p.queue[p.head]
			p.queue[p.head] = nil
			p.head++
			// A stream shut down or closed while it waited is not ours.
			if st.state == stQueued {
				st.state = stRunning
				mine = append(mine, st)
			}
		}
		if p.head == len(p.queue) {
			p.queue, p.head = p.queue[:0], 0
		}
		if len(mine) > 0 {
			return mine, true
		}
	}
}

func (p *pool) work() {
	defer p.wg.Done()
	buf := make([]byte, 0, 64<<10)
	var batch hub.Batch
	mine := make([]*stream, 0, grab)
	errs := make([]error, grab)
	for {
		var ok bool
		if mine, ok = p.next(mine[:0]); !ok {
			return
		}
		for i, st := range mine {
			buf = buf[:0]
			errs[i] = p.service(st, &buf, &batch)
		}
		p.mu.Lock()
		for i, st := range mine {
			p.settleLocked(st, errs[i], buf)
			mine[i], errs[i] = nil, nil
		}
		p.mu.Unlock()
	}
}

// settleLocked decides what becomes of a stream a worker has served.
func (p *pool) settleLocked(st *stream, err error, scratch []byte) {
	if st.closing && err == nil && len(st.leftover) == 0 {
		p.mu.Unlock()
		_ = st.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = st.conn.Write(p.s.goodbye(scratch[:0], st.wire, st.why))
		p.mu.Lock()
	}
	switch {
	case err != nil || st.closing:
		p.closeLocked(st, err)
	case len(st.leftover) > 0:
		st.state = stBlocked
		p.blocked = append(p.blocked, st)
		p.armRetryLocked()
	case st.again:
		st.again = false
		st.state = stQueued
		p.queue = append(p.queue, st)
		p.cond.Signal()
	default:
		st.state = stIdle
	}
}

var errWriteTimeout = errors.New("sse: client did not take its bytes within the write timeout")

var errPeerClosed = errors.New("sse: client closed the connection")

// peerClosed peeks at the socket: a hijacked stream is never read, so a
// client that went away (a closed tab, a reload) is otherwise noticed only
// when a write fails, a heartbeat or two later, while it still holds a
// stream slot. One non-blocking peek per heartbeat sees its FIN at once.
func (st *stream) peerClosed() bool {
	if !st.raw {
		return false
	}
	return peekClosed(st.fd)
}

// service writes what a stream has: first any leftover, then a new batch.
func (p *pool) service(st *stream, buf *[]byte, batch *hub.Batch) error {
	now := time.Now()
	if len(st.leftover) > 0 {
		n, err := p.write(st, st.leftover, now)
		st.leftover = st.leftover[n:]
		if err != nil {
			return err
		}
		if len(st.leftover) > 0 {
			if now.Sub(st.blockedSince) > p.s.opts.WriteTimeout {
				return errWriteTimeout
			}
			return nil
		}
		st.leftover = nil
	}
	if !st.sub.Take(batch) {
		return st.sub.Err()
	}
	if batch.Heartbeat && st.peerClosed() {
		return errPeerClosed
	}
	*buf = p.s.appendBatch(*buf, st.wire, batch)
	if len(*buf) == 0 {
		return nil
	}
	n, err := p.write(st, *buf, now)
	if err != nil {
		return err
	}
	if n < len(*buf) {
		st.leftover = append([]byte(nil), (*buf)[n:]...)
		st.blockedSince = now
	}
	p.s.delivered(batch.Events)
	return nil
}

// write writes what the socket takes now; a full socket is not an error,
// the caller keeps what was not written.
func (p *pool) write(st *stream, b []byte, now time.Time) (int, error) {
	if !st.raw {
		_ = st.conn.SetWriteDeadline(now.Add(writeSlice))
		n, err := st.conn.Write(b)
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			return n, nil
		}
		return n, err
	}
	return writeNonblocking(st.fd, b) // pool_unix.go
}

// armRetryLocked has the blocked streams retried in retryInterval, unless
// that is already due. The timer fires once per arming: an idle pool, or
// one whose sockets all take their bytes, has nothing ticking.
func (p *pool) armRetryLocked() {
	if p.retry != nil || p.stopped {
		return
	}
	p.retry = time.AfterFunc(retryInterval, p.retryBlocked)
}

// retryBlocked puts the blocked streams back in the run queue; a stream
// that blocks again re-arms the timer when its worker settles it.
func (p *pool) retryBlocked() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retry = nil
	if p.stopped {
		return
	}
	requeued := 0
	for _, st := range p.blocked {
		if st.state == stBlocked {
			st.state = stQueued
			p.queue = append(p.queue, st)
			requeued++
		}
	}
	clear(p.blocked)
	p.blocked = p.blocked[:0]
	if requeued > 0 {
		p.cond.Broadcast()
	}
}

func (p *pool) closeLocked(st *stream, err error) {
	if st.state == stClosed {
		return
	}
	st.state = stClosed
	delete(p.streams, st)
	st.conn.Close()
	st.leftover = nil
	go func() {
		// Unsubscribing takes the hub's lock; never do it under the
		// pool's, which the hub's notify path takes.
		p.s.logEnd(st.client, err)
		st.end()
	}()
}

// end says goodbye to one stream and closes it (its token expired, its
// session signed out). A stream a worker is writing to is closed by that
// worker when it is done; one that has ended already is left alone.
func (p *pool) end(st *stream, why ending) {
	p.mu.Lock()
	if _, open := p.streams[st]; !open || st.closing {
		p.mu.Unlock()
		return
	}
	st.why = why
	if st.state == stRunning {
		st.closing = true
		p.mu.Unlock()
		return
	}
	st.state = stRunning // ours now: no worker will pick it
	p.mu.Unlock()
	_ = st.conn.SetWriteDeadline(time.Now().Add(time.Second))
	if len(st.leftover) == 0 {
		_, _ = st.conn.Write(p.s.goodbye(nil, st.wire, why))
	}
	p.mu.Lock()
	p.closeLocked(st, nil)
	p.mu.Unlock()
}

// shutdown says goodbye to every stream and stops the workers. Streams a
// worker is writing to are closed by that worker when it is done.
func (p *pool) shutdown() {
	p.mu.Lock()
	p.leaving = true
	var mine []*stream
	for st := range p.streams {
		if st.state == stRunning {
			st.closing = true
			continue
		}
		st.state = stRunning // ours now: no worker will pick it
		mine = append(mine, st)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, st := range mine {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = st.conn.SetWriteDeadline(time.Now().Add(time.Second))
			if len(st.leftover) == 0 {
				_, _ = st.conn.Write(p.s.goodbye(nil, st.wire, ending{}))
			}
			p.mu.Lock()
			p.closeLocked(st, nil)
			p.mu.Unlock()
		}()
	}
	wg.Wait()
	p.mu.Lock()
	p.stopped = true
	if p.retry != nil {
		p.retry.Stop()
		p.retry = nil
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait() // the workers are gone
}
