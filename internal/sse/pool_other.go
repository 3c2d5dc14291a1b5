//go:build !unix

package sse

import (
	"errors"
	"net"
)

// poolFastPath is false here (Windows, and anything else without POSIX
// sockets): no stream is hijacked into the writer pool, every one is served
// by its own handler goroutine through net/http (serveLoop), as HTTP/2
// streams are everywhere. The pool's code is compiled but never started.
const poolFastPath = false

func rawFD(net.Conn) (int, bool) { return 0, false }

func peekClosed(int) bool { return false }

func writeNonblocking(int, []byte) (int, error) {
	return 0, errors.New("sse: no raw socket writes on this platform")
}
