//go:build unix

package sse

import (
	"net"
	"syscall"
)

// poolFastPath: on unix a hijacked HTTP/1.1 stream is written by the writer
// pool with non-blocking write(2) on its descriptor.
const poolFastPath = true

// rawFD is the socket's descriptor, when conn has one of its own.
func rawFD(conn net.Conn) (fd int, ok bool) {
	sc, isSys := conn.(syscall.Conn)
	if !isSys {
		return 0, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	return fd, raw.Control(func(d uintptr) { fd = int(d) }) == nil
}

// peekClosed is one non-blocking peek: true when the peer sent its FIN.
func peekClosed(fd int) bool {
	var b [1]byte
	n, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return n == 0 && err == nil
}

// writeNonblocking writes what the socket takes now (Go keeps its sockets
// O_NONBLOCK): no poller registration, no deadline timer, no waiting. A
// full socket is not an error; the caller keeps what was not written.
func writeNonblocking(fd int, b []byte) (int, error) {
	written := 0
	for written < len(b) {
		n, err := syscall.Write(fd, b[written:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return written, nil
		case err != nil:
			return written, err
		}
		written += n
	}
	return written, nil
}
