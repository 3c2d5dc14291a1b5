package ws

import (
	"encoding/json"
	"strconv"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// Message types only the WebSocket has. An SSE stream says these things with
// its own syntax (an "id:" line without data, a comment); a WebSocket client
// gets them as messages of their own.
const (
	// TypeCheckpoint moves the client's last id without delivering an event:
	// {"id":"<id>","type":"checkpoint"}.
	TypeCheckpoint = "checkpoint"
	// TypeHeartbeat keeps the connection (and any proxy on its way) busy:
	// {"type":"heartbeat","timestamp":<ms>}.
	TypeHeartbeat = "heartbeat"
	// TypeReply answers a client message with the same requestId.
	TypeReply = "reply"
)

// appendEvent appends one event as a WebSocket message,
// {"id":"…","topic":"…","type":"…","data":…}. The event's payload is already
// {"type":…,"data":…}, encoded once for every subscriber, so the id and topic
// are spliced in front of its first key instead of encoding it again per
// client. Snapshot events go without their id (withID false), as on SSE, so
// the ids a client sees keep increasing.
func appendEvent(dst []byte, e *event.Event, withID bool) []byte {
	dst = append(dst, '{')
	if withID {
		dst = append(dst, `"id":"`...)
		dst = appendID(dst, e.ID)
		dst = append(dst, `",`...)
	}
	dst = append(dst, `"topic":`...)
	dst = strconv.AppendQuote(dst, string(e.Topic))
	if d := e.Data; len(d) > 2 && d[0] == '{' && d[len(d)-1] == '}' {
		dst = append(dst, ',')
		return append(dst, d[1:]...)
	}
	// Not an object: cannot happen with the engine's events; keep the
	// message well formed rather than trust it.
	dst = append(dst, `,"type":`...)
	dst = strconv.AppendQuote(dst, e.Type)
	dst = append(dst, `,"data":`...)
	if json.Valid(e.Data) && len(e.Data) > 0 {
		dst = append(dst, e.Data...)
	} else {
		dst = append(dst, "null"...)
	}
	return append(dst, '}')
}

func appendCheckpoint(dst []byte, id event.ID) []byte {
	dst = append(dst, `{"id":"`...)
	dst = appendID(dst, id)
	return append(dst, `","type":"checkpoint"}`...)
}

func appendHeartbeat(dst []byte, ms int64) []byte {
	dst = append(dst, `{"type":"heartbeat","timestamp":`...)
	dst = strconv.AppendInt(dst, ms, 10)
	return append(dst, '}')
}

// control encodes a message of our own ({"type":…,"data":…}).
func control(typ string, data any) []byte {
	b, _ := json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{typ, data})
	return b
}

// appendID appends id's wire form (event.ID.String) without allocating.
func appendID(dst []byte, id event.ID) []byte {
	dst = strconv.AppendInt(dst, id.Ms(), 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, id.Seq(), 10)
}
