package sse

import (
	"net/http"

	"golang.org/x/net/http2"
)

// The HTTP/2 server the engine's TLS connections are served by.
//
// net/http's own HTTP/2 server picks the next frame to write with a
// round-robin scheduler that walks every open stream of the connection,
// waiting frames or not, each time it looks for one. An engine's HTTP/2
// connection carries up to a hundred or more idle-most-of-the-time event
// streams (a browser multiplexes every tab's stream and API call over one
// connection), and each delivery is one DATA frame: that walk was a seventh
// of the server's CPU at 5,000 streams (BENCHMARKS.md, "HTTP/2 beside
// HTTP/1.1"). The standard library does not let the scheduler be replaced;
// golang.org/x/net/http2's server, the same implementation, does. Its
// random scheduler keeps only the streams that have frames waiting, so
// finding the next frame costs the same with one stream or 250.
//
// Fairness: a stream's frames still leave in order, control frames
// (SETTINGS, PING, RST_STREAM, WINDOW_UPDATE) go first, and each pick
// takes one frame from one waiting stream, so no stream with frames waits
// behind another's whole backlog. No SSE stream needs priorities.
//
// x/net's README says that from Go 1.27 its server wraps net/http's; the
// test TestHTTP2ServedWithOurWriteScheduler fails if this hook stops being
// called, and the figures in BENCHMARKS.md must then be measured again.

// ConfigureHTTP2 makes srv serve HTTP/2 (negotiated by ALPN on its TLS
// connections) with x/net's server and the write scheduler above. Call it
// before ServeTLS; srv.TLSConfig gets "h2" in its NextProtos.
func ConfigureHTTP2(srv *http.Server) error {
	return http2.ConfigureServer(srv, &http2.Server{
		NewWriteScheduler: func() http2.WriteScheduler { return newWriteScheduler() },
	})
}

// newWriteScheduler makes a connection's write scheduler; a variable so that
// a test can see that the server uses it.
var newWriteScheduler = http2.NewRandomWriteScheduler
