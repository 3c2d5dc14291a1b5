package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// request is a client message: {"op":"acknowledge","id":"…","requestId":"…"}.
type request struct {
	Op        string `json:"op"`
	ID        string `json:"id"`
	RequestID string `json:"requestId"`
}

// reply answers a request: ok with data, or an error with the HTTP API's
// codes (invalid, unauthorized, forbidden, not_found, conflict, …).
type reply struct {
	Type      string       `json:"type"`
	RequestID string       `json:"requestId"`
	OK        bool         `json:"ok"`
	Data      any          `json:"data,omitempty"`
	Error     *crowd.Error `json:"error,omitempty"`
}

// maxRefused is how many messages over the rate a client may send in a row
// before it is disconnected: a few are a busy operator, hundreds a loop.
const maxRefused = 100

// readLoop reads client messages until the connection ends. Messages are
// rate limited per connection and capped in size (SetReadLimit: the
// library closes with 1009 beyond it); each gets a reply.
func (cn *conn) readLoop(ctx context.Context) error {
	lim := rate.NewLimiter(rate.Limit(cn.s.opts.MessageRate), cn.s.opts.MessageBurst)
	refused := 0
	for {
		typ, data, err := cn.c.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			cn.c.Close(websocket.StatusUnsupportedData, "text messages only")
			return errors.New("binary message refused")
		}
		if !lim.Allow() {
			if refused++; refused > maxRefused {
				cn.c.Close(websocket.StatusPolicyViolation, "message rate exceeded")
				return errors.New("message rate exceeded")
			}
			cn.answer(ctx, reply{RequestID: requestIDOf(data), Error: crowd.Errorf(crowd.ErrRateLimited,
				"at most %g messages per second; this one was not done", cn.s.opts.MessageRate)})
			continue
		}
		refused = 0
		cn.answer(ctx, cn.handle(ctx, data))
	}
}

func (cn *conn) handle(ctx context.Context, data []byte) reply {
	var req request
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return reply{RequestID: requestIDOf(data), Error: crowd.Invalidf("", "not a request: %v", err)}
	}
	out := reply{RequestID: req.RequestID}
	if len(req.RequestID) > 128 {
		out.RequestID = ""
		out.Error = crowd.Invalidf("requestId", "at most 128 characters")
		return out
	}
	switch req.Op {
	case "acknowledge":
		out.Data, out.Error = cn.acknowledge(ctx, req.ID)
	default:
		out.Error = crowd.Invalidf("op", "unknown op %q (want acknowledge)", req.Op)
	}
	return out
}

// acknowledge does what POST /alerts/{id}/acknowledge does, for the
// principal that opened the connection. Cookie-authenticated writes need a
// CSRF token over HTTP; here the handshake's Origin check does that job: a
// foreign page cannot open this connection at all.
func (cn *conn) acknowledge(ctx context.Context, id string) (any, *crowd.Error) {
	p, _ := auth.FromContext(cn.r.Context())
	if !p.Role.Allows(auth.Operator) {
		return nil, crowd.Errorf(crowd.ErrForbidden, "role %s may not do this; it needs %s", p.Role, auth.Operator)
	}
	if id == "" || len(id) > 128 {
		return nil, crowd.Invalidf("id", "is not an alert id")
	}
	if cn.s.opts.Acknowledge == nil {
		return nil, crowd.Errorf(crowd.ErrUnavailable, "acknowledging is not available on this server")
	}
	ctx, cancel := context.WithTimeout(ctx, cn.s.opts.AckTimeout)
	defer cancel()
	a, err := cn.s.opts.Acknowledge(ctx, id, p.Subject)
	if err != nil {
		var ce *crowd.Error
		if errors.As(err, &ce) {
			return nil, ce
		}
		cn.s.log.Error("websocket acknowledge failed", "category", "ws-connection", "client", cn.client, "alert", id, "err", err)
		return nil, crowd.Errorf(crowd.ErrInternal, "internal error; the server log has the details")
	}
	return a, nil
}

func (cn *conn) answer(ctx context.Context, r reply) {
	r.Type, r.OK = TypeReply, r.Error == nil
	b, err := json.Marshal(r)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"type":"reply","ok":false,"error":{"code":"internal","message":%q}}`, err.Error()))
	}
	// A failed write ends the connection; the writer notices.
	_ = cn.write(b)
}

// requestIDOf digs the requestId out of a message that is refused before
// it is decoded, so the client can still match the answer.
func requestIDOf(data []byte) string {
	var v struct {
		RequestID string `json:"requestId"`
	}
	if json.Unmarshal(data, &v) != nil || len(v.RequestID) > 128 {
		return ""
	}
	return v.RequestID
}
