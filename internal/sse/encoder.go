// Package sse is the wire of the live streams: the text/event-stream encoder,
// a parser written from the WHATWG spec (parser.go), and the HTTP handler that
// serves a hub subscription as a stream with heartbeats, resume, gzip,
// connection limits and a spread-out reconnect on shutdown.
package sse

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// Codec is the text/event-stream encoding of events (event.Codec): every
// event is encoded once, on first use, and the bytes are shared by all
// subscribers (event.Event.Frame); Deflate is gzip.go's shared compression.
type Codec struct{}

// Frame is the event as one SSE event with its id.
func (Codec) Frame(e *event.Event) []byte {
	return AppendEvent(nil, e.ID.String(), e.Data)
}

// Deflate compresses a frame into a sync-flushed, non-final DEFLATE
// segment that any compressed stream can send (see gzip.go).
func (Codec) Deflate(frame []byte) []byte { return deflateFrame(frame) }

// AppendEvent appends one SSE event: an optional id line, the data split into
// one data line per line of the payload (CR, LF and CRLF all end a line, as
// the parser reads them), and the blank line that dispatches it. An id with
// CR, LF or NUL would inject fields, so such characters are removed from it.
func AppendEvent(dst []byte, id string, data []byte) []byte {
	if id != "" {
		dst = append(dst, "id: "...)
		dst = appendClean(dst, id)
		dst = append(dst, '\n')
	}
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
}

// AppendCheckpoint appends an event with an id and no data. The spec's
// dispatch step sets the client's last event id before it drops an event with
// an empty data buffer, so this moves a client's resume position without
// delivering a message.
func AppendCheckpoint(dst []byte, id string) []byte {
	dst = append(dst, "id: "...)
	dst = appendClean(dst, id)
	return append(dst, '\n', '\n')
}

// AppendComment appends a comment (ignored by clients, keeps proxies from
// closing an idle stream). Line breaks in text start new comment lines.
func AppendComment(dst []byte, text string) []byte {
	for {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			break
		}
		dst = append(dst, ": "...)
		dst = append(dst, text[:i]...)
		dst = append(dst, '\n')
		text = text[i+1:]
	}
	dst = append(dst, ": "...)
	dst = append(dst, text...)
	return append(dst, '\n', '\n')
}

// AppendHeartbeat appends the seed's heartbeat comment ": heartbeat <ms>".
func AppendHeartbeat(dst []byte, ms int64) []byte {
	dst = append(dst, ": heartbeat "...)
	dst = strconv.AppendInt(dst, ms, 10)
	return append(dst, '\n', '\n')
}

// AppendRetry appends a retry field: the reconnection delay a native
// EventSource uses after this stream ends.
func AppendRetry(dst []byte, ms int64) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, ms, 10)
	return append(dst, '\n', '\n')
}

func appendClean(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\r' && c != '\n' && c != 0 {
			dst = append(dst, c)
		}
	}
	return dst
}
