package ws

import (
	"context"
	"errors"
	"net/http"

	"github.com/coder/websocket"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
)

// conn is one WebSocket connection: run writes the subscriber's events
// from the handler's goroutine; a second goroutine reads what the client
// sends (acknowledgements) and answers it. The library serializes their
// writes.
type conn struct {
	s      *Server
	c      *websocket.Conn
	bc     *batchConn // under c: batches the writes
	sub    *hub.Subscriber
	client string
	r      *http.Request
}

func (cn *conn) run(topics []event.Topic, start hub.Start, ended <-chan ending) {
	s := cn.s
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Whatever ended the loop, the socket goes with it (a no-op after a
	// close handshake).
	defer cn.c.CloseNow()
	readErr := make(chan error, 1)
	go func() { readErr <- cn.readLoop(ctx) }()

	first := s.startMessages(topics, start)
	if err := cn.write(first...); err != nil {
		cn.abort(err)
		return
	}
	s.hub.CountDelivered(len(start.Snapshot) + len(start.Replay))

	var (
		batch hub.Batch
		msgs  [][]byte
		buf   []byte
	)
	for {
		select {
		case err := <-readErr:
			// The client closed, broke a rule (size, rate, binary) or
			// the connection died: the reader has closed it already.
			s.logEnd(cn.client, err)
			return
		case <-cn.sub.Done():
			// Too slow for its alerts (or the hub closed): the client
			// resumes from its last id and gets every one of them.
			s.logEnd(cn.client, cn.sub.Err())
			code, reason := websocket.StatusTryAgainLater, "too slow: resume from your last id"
			if errors.Is(cn.sub.Err(), hub.ErrClosed) {
				code, reason = websocket.StatusGoingAway, "server shutting down"
			}
			cn.c.Close(code, reason)
			return
		case <-s.life.Closing():
			cn.bye(ending{}, websocket.StatusGoingAway)
			return
		case why := <-ended:
			cn.bye(why, websocket.StatusNormalClosure)
			return
		case <-cn.sub.Ready():
			if !cn.sub.Take(&batch) {
				continue // Done fires next
			}
			// One buffer for the batch, sliced per message: the
			// library copies each message out before Write returns.
			buf, msgs = buf[:0], msgs[:0]
			for _, e := range batch.Events {
				n := len(buf)
				buf = appendEvent(buf, e, true)
				msgs = append(msgs, buf[n:len(buf):len(buf)])
			}
			if batch.Heartbeat {
				n := len(buf)
				buf = appendHeartbeat(buf, s.now().UnixMilli())
				msgs = append(msgs, buf[n:len(buf):len(buf)])
			}
			if err := cn.write(msgs...); err != nil {
				cn.abort(err)
				return
			}
			if n := len(batch.Events); n > 0 {
				s.hub.CountDelivered(n)
				if s.opts.OnDelivered != nil {
					s.opts.OnDelivered(n, batch.Events[0].At)
				}
			}
		}
	}
}

// write sends messages in order, in one write(2) that must finish within
// WriteTimeout: a client that cannot take them in that time is dropped and
// resumes. The library's writes go to the batchConn's buffer and never
// block, so they need no context deadline (which would cost a timer per
// message).
func (cn *conn) write(msgs ...[]byte) error {
	cn.bc.begin()
	for _, m := range msgs {
		if err := cn.c.Write(context.Background(), websocket.MessageText, m); err != nil {
			cn.bc.flush()
			return err
		}
	}
	return cn.bc.flush()
}

// bye tells the client why the connection ends and when to come back, then
// closes it.
func (cn *conn) bye(why ending, code websocket.StatusCode) {
	_ = cn.write(cn.s.goodbye(why))
	cn.c.Close(code, why.Why())
}

func (cn *conn) abort(err error) {
	cn.s.logEnd(cn.client, err)
	cn.c.CloseNow()
}
