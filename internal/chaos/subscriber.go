package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/sse"
)

// subRecord is one thing a subscriber saw, in the order it saw it.
type subRecord struct {
	Conn     int
	Kind     string // connected, reset, snapshot, event, checkpoint, limit, reconnect, end, refused
	ID       string
	Type     string
	Data     json.RawMessage // for alert and emergency messages only (memory)
	Resumed  bool
	Topics   []string // of a reset
	LastID   string   // the Last-Event-ID this connection sent
	Instance string
	Note     string
	At       time.Time
}

// subscriber is a control-room screen: one stream of density and alerts
// that reconnects with its Last-Event-ID through every fault, as an
// EventSource does, moving to the next instance when its own fails (a load
// balancer would).
type subscriber struct {
	name  string
	bases []string
	home  int
	recs  []subRecord
	pos   string // the last event id, sent on reconnect
	conns int
	// latest mirrors pos for the campaign, which waits for every screen to
	// catch up while the subscriber goroutine runs.
	latest atomic.Value
}

func (s *subscriber) setPos(id string) {
	s.pos = id
	s.latest.Store(id)
}

// position is the last event id, safe to call from another goroutine.
func (s *subscriber) position() string {
	v, _ := s.latest.Load().(string)
	return v
}

const streamPath = "/api/crowd-risk/stream?topics=density,alerts"

func (s *subscriber) run(ctx context.Context) {
	client := &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		ResponseHeaderTimeout: 5 * time.Second,
	}}
	defer client.CloseIdleConnections()
	fails := 0
	for ctx.Err() == nil {
		base := s.bases[(s.home+fails)%len(s.bases)]
		if !s.connect(ctx, client, base) {
			fails++
		}
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func (s *subscriber) add(r subRecord) {
	r.Conn, r.At = s.conns, time.Now()
	s.recs = append(s.recs, r)
}

// connect holds one connection until it ends; false when it failed or was
// cut by the server (so the next attempt goes to another instance).
func (s *subscriber) connect(ctx context.Context, client *http.Client, base string) bool {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Heartbeats come every second: 5 s of silence is a dead or paused
	// server, which a screen must notice and leave.
	idle := &idleTimer{d: 5 * time.Second}
	idle.t = time.AfterFunc(idle.d, cancel)
	defer idle.t.Stop()
	req, _ := http.NewRequestWithContext(cctx, http.MethodGet, base+streamPath, nil)
	sent := s.pos
	if sent != "" {
		req.Header.Set("Last-Event-ID", sent)
	}
	s.conns++
	resp, err := client.Do(req)
	if err != nil {
		s.add(subRecord{Kind: "refused", Instance: base, LastID: sent, Note: err.Error()})
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		s.add(subRecord{Kind: "refused", Instance: base, LastID: sent, Note: fmt.Sprintf("%d %s", resp.StatusCode, b)})
		return false
	}
	lr := newLineReader(resp.Body, func(id string) {
		s.add(subRecord{Kind: "checkpoint", ID: id, Instance: base})
		s.setPos(id)
	}, idle.touch)
	p := sse.NewParser(lr)
	for {
		it, err := p.Next()
		if err != nil {
			note := err.Error()
			if ctx.Err() != nil {
				note = "campaign over"
			} else if cctx.Err() != nil {
				note = "idle timeout"
			}
			s.add(subRecord{Kind: "end", Instance: base, Note: note})
			return ctx.Err() != nil
		}
		if it.Kind == sse.KindMessage {
			s.message(it.Message, base, sent)
		}
	}
}

func (s *subscriber) message(m sse.Message, base, sent string) {
	var w struct {
		Type    string          `json:"type"`
		Data    json.RawMessage `json:"data"`
		Resumed bool            `json:"resumed"`
	}
	if err := json.Unmarshal([]byte(m.Data), &w); err != nil {
		s.add(subRecord{Kind: "garbage", ID: m.ID, Instance: base, Note: m.Data})
		return
	}
	r := subRecord{ID: m.ID, Type: w.Type, Instance: base}
	if w.Type == "alert" || w.Type == "emergency" {
		r.Data = w.Data
	}
	switch {
	case w.Type == "connected":
		r.Kind, r.Resumed, r.LastID = "connected", w.Resumed, sent
	case w.Type == "reset":
		var d struct {
			Topics []string `json:"topics"`
			Reason string   `json:"reason"`
		}
		json.Unmarshal(w.Data, &d)
		r.Kind, r.Topics, r.Note = "reset", d.Topics, d.Reason
	case w.Type == "snapshot-limit":
		r.Kind = "limit"
	case w.Type == "reconnect":
		r.Kind = "reconnect"
	case !m.HasID:
		r.Kind = "snapshot"
	default:
		r.Kind = "event"
	}
	s.add(r)
	// A browser keeps its last event id across reconnects; ids only ever
	// come with events (or a checkpoint), never cleared by our server.
	if m.HasID && m.ID != "" {
		s.setPos(m.ID)
	}
}
