// Package ws serves the live streams over WebSocket: the same hub
// subscription, events, ids, snapshot, resume, slow-client policy and
// limits as the SSE streams (internal/sse), each event one JSON text
// message, and a way back for operators to acknowledge alerts.
package ws

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
	"github.com/crowdrisk/crowdrisk/internal/lifetime"
	"github.com/crowdrisk/crowdrisk/internal/sse"
)

// Acknowledger acknowledges an alert for actor (the engine's Acknowledge).
type Acknowledger func(ctx context.Context, id, actor string) (crowd.Alert, error)

// Options configure the server. Zero values take the defaults.
type Options struct {
	Hub *hub.Hub
	// Acknowledge serves {"op":"acknowledge"}; nil answers it as unavailable.
	Acknowledge Acknowledger
	// AllowedOrigins may open a WebSocket from another origin (besides
	// this server's own), exact matches as for CORS.
	AllowedOrigins []string
	// WriteTimeout bounds each batch of writes: a client that does not
	// take its messages in this time is dropped (it resumes).
	WriteTimeout time.Duration // default 10s
	// MaxStreams and MaxStreamsPerClient cap concurrent connections
	// (503 and 429 beyond them). 0: no cap.
	MaxStreams          int
	MaxStreamsPerClient int
	// ClientKey names the client for its cap, its message rate and the
	// logs. Default: the remote IP address.
	ClientKey func(*http.Request) string
	// Session names the connection's session and its credential's expiry
	// (the connection ends then, telling the client to sign in again).
	Session func(*http.Request) (session string, expires time.Time)
	// ShutdownSpread is the window over which clients are told to come back.
	ShutdownSpread time.Duration // default 5s
	// MaxMessageBytes caps a client message (the connection is closed
	// with 1009 beyond it). Default 4 KiB: an acknowledgement is ~100 bytes.
	MaxMessageBytes int64
	// MessageRate and MessageBurst bound the client messages of one
	// connection (a token bucket). Defaults 10/s, burst 50.
	MessageRate  float64
	MessageBurst int
	// AckTimeout bounds one acknowledgement. Default 10s.
	AckTimeout  time.Duration
	OnDelivered func(n int, oldestPublished time.Time)
	// WriteError answers a refused handshake (the API's error mapping).
	WriteError func(http.ResponseWriter, *http.Request, error)
	Logger     *slog.Logger
	Now        func() time.Time
}

// Server serves hub subscriptions as WebSocket connections.
type Server struct {
	opts    Options
	hub     *hub.Hub
	log     *slog.Logger
	now     func() time.Time
	limit   *sse.Limiter // the SSE server's caps, counted on their own
	origins map[string]bool

	life *lifetime.Tracker // open connections: shutdown, sessions, expiry
}

// ending is why the server ends a connection (package lifetime).
type ending = lifetime.Ending

// NewServer builds a WebSocket server over a hub. It starts nothing.
func NewServer(opts Options) *Server {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.ShutdownSpread <= 0 {
		opts.ShutdownSpread = 5 * time.Second
	}
	if opts.ClientKey == nil {
		opts.ClientKey = sse.RemoteIP
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 4 << 10
	}
	if opts.MessageRate <= 0 {
		opts.MessageRate = 10
	}
	if opts.MessageBurst <= 0 {
		opts.MessageBurst = 50
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 10 * time.Second
	}
	if opts.WriteError == nil {
		opts.WriteError = sse.WriteJSONError
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts: opts, hub: opts.Hub, log: opts.Logger, now: opts.Now,
		limit:   sse.NewLimiter(opts.MaxStreams, opts.MaxStreamsPerClient),
		origins: map[string]bool{},
		life:    lifetime.NewTracker(opts.Now),
	}
	for _, o := range opts.AllowedOrigins {
		s.origins[o] = true
	}
	return s
}

// ServeHTTP upgrades GET /ws?topics=…&lastEventId=… to a WebSocket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	topics, err := sse.ParseTopics(r.URL.Query().Get("topics"))
	if err != nil {
		s.opts.WriteError(w, r, err)
		return
	}
	if err := s.checkOrigin(r); err != nil {
		s.opts.WriteError(w, r, err)
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		s.opts.WriteError(w, r, crowd.Invalidf("Upgrade", "this is a WebSocket endpoint: open it with a WebSocket client"))
		return
	}
	var session string
	var expires time.Time
	if s.opts.Session != nil {
		session, expires = s.opts.Session(r)
	}
	if !expires.IsZero() && !expires.After(s.now()) {
		s.opts.WriteError(w, r, crowd.Errorf(crowd.ErrUnauthorized, "the token has expired; sign in again"))
		return
	}
	client := s.opts.ClientKey(r)
	switch s.limit.Acquire(client) {
	case sse.LimitTotal:
		w.Header().Set("Retry-After", "5")
		s.opts.WriteError(w, r, crowd.Errorf(crowd.ErrUnavailable, "the server holds its maximum of %d WebSocket connections; retry later", s.opts.MaxStreams))
		return
	case sse.LimitClient:
		w.Header().Set("Retry-After", "5")
		s.opts.WriteError(w, r, crowd.Errorf(crowd.ErrRateLimited, "at most %d concurrent WebSocket connections per client", s.opts.MaxStreamsPerClient))
		return
	}
	defer s.limit.Release(client)
	if !s.life.Enter() {
		w.Header().Set("Retry-After", "2")
		s.opts.WriteError(w, r, crowd.Errorf(crowd.ErrUnavailable, "the server is shutting down; reconnect shortly"))
		return
	}
	defer s.life.Leave()
	lastID := sse.LastEventID(r)
	sub, start, err := s.hub.Subscribe(r.Context(), topics, client, lastID)
	if err != nil {
		s.log.Error("websocket subscribe failed", "category", "ws-connection", "client", client, "lastEventId", lastID, "err", err)
		w.Header().Set("Retry-After", "2")
		s.opts.WriteError(w, r, crowd.Errorf(crowd.ErrUnavailable, "the stream cannot start: %v", err))
		return
	}
	defer s.hub.Unsubscribe(sub)
	// Watch the credentials from before the first message, so a sign-out
	// cannot slip in between.
	lt := s.life.Watch(session, expires)
	defer lt.Release()
	ended := make(chan ending, 1)
	lt.Place(func(why ending) {
		select {
		case ended <- why:
		default: // already ending: the first reason wins
		}
	})
	if len(start.Reset) > 0 {
		s.log.Info("websocket resume impossible, sending reset and snapshot", "category", "ws-connection",
			"client", client, "lastEventId", lastID, "reason", start.Reason, "topics", start.Reset)
	}
	// A connection lives for hours: no request-body deadline the API set
	// may survive the hijack and cut it.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	// The Origin was checked above, with our own rule (same host or an
	// allowed origin, exact match); the library's host patterns would
	// refuse the allowed cross-origin dashboards.
	hj := &hijacker{ResponseWriter: w, timeout: s.opts.WriteTimeout}
	c, err := websocket.Accept(hj, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Info("websocket handshake failed", "category", "ws-connection", "client", client, "err", err)
		return
	}
	c.SetReadLimit(s.opts.MaxMessageBytes)
	// At debug level every connection is logged (a browser's tabs share one:
	// the browser tests count them).
	s.log.Debug("websocket opened", "category", "ws-connection", "client", client, "topics", topics, "lastEventId", lastID)
	cn := &conn{s: s, c: c, bc: hj.conn, sub: sub, client: client, r: r}
	cn.run(topics, start, ended)
}

// Shutdown tells every open connection when to come back (a random delay
// within ShutdownSpread), closes them, refuses new ones, and waits for them
// to end or ctx to. Call it before http.Server.Shutdown, which does not
// wait for hijacked connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.life.Close()
	return s.life.Wait(ctx)
}

// EndSession ends every open connection of a session (auth.SessionID),
// telling each client to sign in again; the API calls it on sign-out. It
// returns how many.
func (s *Server) EndSession(session string) int { return s.life.EndSession(session) }

// goodbye is the reconnect message: after a shutdown the delay is random
// within the spread so that thousands of screens do not come back at once;
// after the credentials ended the client checks them first, so a short
// delay will do.
func (s *Server) goodbye(why ending) []byte {
	spread := s.opts.ShutdownSpread
	if why.Reauth {
		spread = time.Second
	}
	delay := time.Second/2 + rand.N(spread)
	data := map[string]any{"retryMs": delay.Milliseconds(), "reason": why.Why()}
	if why.Reauth {
		data["reauth"] = true
	}
	return control("reconnect", data)
}

func (s *Server) logEnd(client string, err error) {
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, hub.ErrClosed):
	case websocket.CloseStatus(err) != -1:
	case errors.Is(err, hub.ErrSlow):
		s.log.Warn("websocket closed: client too slow, it will resume from its last id", "category", "ws-connection", "client", client)
	default:
		s.log.Info("websocket ended", "category", "ws-connection", "client", client, "err", err)
	}
}

// startMessages encodes what a subscriber gets before its live queue: the
// connected message, a reset, the snapshot (without ids), the replay (with
// ids) and the checkpoint, as on SSE.
func (s *Server) startMessages(topics []event.Topic, st hub.Start) [][]byte {
	connected, _ := json.Marshal(struct {
		Type      string        `json:"type"`
		Timestamp int64         `json:"timestamp"`
		Topics    []event.Topic `json:"topics"`
		Resumed   bool          `json:"resumed"`
	}{event.TypeConnected, s.now().UnixMilli(), topics, st.Resumed})
	out := make([][]byte, 0, 3+len(st.Snapshot)+len(st.Replay))
	out = append(out, connected)
	if len(st.Reset) > 0 {
		out = append(out, control(event.TypeReset, map[string]any{"topics": st.Reset, "reason": st.Reason}))
	}
	for _, e := range st.Snapshot {
		out = append(out, appendEvent(nil, e, false))
	}
	for _, e := range st.Replay {
		out = append(out, appendEvent(nil, e, true))
	}
	if !st.Checkpoint.IsZero() {
		out = append(out, appendCheckpoint(nil, st.Checkpoint))
	}
	return out
}
