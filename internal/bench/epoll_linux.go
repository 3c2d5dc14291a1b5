//go:build linux

package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// poller reads every open stream from one goroutine with epoll, once their
// handshake is done. A goroutine per stream costs the load generator two
// read(2) calls and a scheduler round trip per delivery (the second read
// finds nothing and parks the goroutine); at 200,000 deliveries a second on
// one core that saturated the load generator and its own queueing showed up
// as the server's latency. Here a ready socket costs one read.
type poller struct {
	s     *streams
	epfd  int
	mu    sync.Mutex
	conns map[int]*polled
	stop  atomic.Bool
	done  chan struct{}
}

type polled struct {
	fd      int    // a duplicate the poller owns and closes
	pending []byte // bytes of an event not complete yet
}

func newPoller(s *streams) *poller {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil // the streams then read in their own goroutines
	}
	p := &poller{s: s, epfd: epfd, conns: map[int]*polled{}, done: make(chan struct{})}
	go p.loop()
	return p
}

// add takes over a stream whose handshake is done; buffered is what the
// handshake's readers had read past it. False: the caller keeps reading.
func (p *poller) add(conn net.Conn, buffered []byte) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	// Read a duplicate of the descriptor and close the original: Go's own
	// poller then stops watching the socket, which otherwise woke the
	// runtime for every delivery too. The socket stays open (and sends no
	// FIN) while the duplicate lives.
	fd := -1
	if raw.Control(func(f uintptr) { fd, err = syscall.Dup(int(f)) }) != nil || err != nil || fd < 0 {
		return false
	}
	conn.Close()
	pc := &polled{fd: fd}
	var scratch []byte
	p.feed(pc, buffered, &scratch) // before the loop can see the socket
	p.mu.Lock()
	p.conns[fd] = pc
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.conns, fd)
		p.mu.Unlock()
		syscall.Close(fd)
		p.s.lost.Add(1) // the original is closed already: count it as lost
		p.s.fail(fmt.Errorf("stream lost: epoll: %w", err))
	}
	return true
}

func (p *poller) loop() {
	defer close(p.done)
	buf := make([]byte, 64<<10)
	var scratch []byte
	events := make([]syscall.EpollEvent, 512)
	for !p.stop.Load() {
		n, err := syscall.EpollWait(p.epfd, events, 100)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		for i := 0; i < n; i++ {
			fd := int(events[i].Fd)
			p.mu.Lock()
			pc := p.conns[fd]
			p.mu.Unlock()
			if pc == nil {
				continue
			}
			m, err := syscall.Read(fd, buf)
			switch {
			case m > 0:
				p.feed(pc, buf[:m], &scratch)
			case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
			default:
				if err == nil {
					err = io.EOF
				}
				p.drop(fd, err)
			}
		}
	}
}

// feed appends what arrived to the stream's pending bytes and hands on the
// data of every event completed.
// scratch holds one event's data; each caller brings its own.
func (p *poller) feed(pc *polled, b []byte, scratch *[]byte) {
	pc.pending = append(pc.pending, b...)
	used := splitEvents(pc.pending, scratch, p.s.arrive)
	n := copy(pc.pending, pc.pending[used:])
	pc.pending = pc.pending[:n]
}

func (p *poller) drop(fd int, err error) {
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	p.mu.Lock()
	delete(p.conns, fd)
	p.mu.Unlock()
	syscall.Close(fd)
	if !p.s.closing.Load() {
		p.s.lost.Add(1)
		p.s.fail(fmt.Errorf("stream lost: %w", err))
	}
}

// close stops the loop and closes the streams it took over.
func (p *poller) close() {
	p.stop.Store(true)
	<-p.done
	p.mu.Lock()
	for fd := range p.conns {
		syscall.Close(fd)
	}
	p.conns = nil
	p.mu.Unlock()
	syscall.Close(p.epfd)
}
