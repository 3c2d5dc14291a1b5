package sse

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
	"github.com/crowdrisk/crowdrisk/internal/lifetime"
)

// Options configure the stream server. Zero values take the defaults.
type Options struct {
	Hub *hub.Hub
	// WriteTimeout bounds each write to a client: a client that does not
	// take its bytes in this time is dropped (it resumes from its last id).
	WriteTimeout time.Duration // default 10s
	// MaxStreams caps concurrent streams overall (503 beyond it) and
	// MaxStreamsPerClient per client (429 beyond it). 0: no cap.
	MaxStreams          int
	MaxStreamsPerClient int
	// ClientKey names the client for the per-client cap and the logs.
	// Default: the remote IP address.
	ClientKey func(*http.Request) string
	// ShutdownSpread is the window over which clients are told to come back
	// after a shutdown, so that thousands of screens do not reconnect at once.
	ShutdownSpread time.Duration // default 5s
	// DisableGzip turns off gzip for clients that accept it.
	DisableGzip bool
	// DisablePool serves every stream from its own handler goroutine
	// instead of hijacking HTTP/1.1 connections into the writer pool.
	DisablePool bool
	// OnDelivered, when set, is told after each successful write how many
	// events went out and when the oldest of them was published (for the
	// delivery-latency histogram).
	OnDelivered func(n int, oldestPublished time.Time)
	// Session names the stream's session (ended together by EndSession,
	// on sign-out) and when its credential expires (the stream ends then,
	// telling the client to sign in again). nil, "" and zero: neither.
	Session func(*http.Request) (session string, expires time.Time)
	// WriteError writes an error response (the API's one error mapping).
	WriteError func(http.ResponseWriter, *http.Request, error)
	Logger     *slog.Logger
	Now        func() time.Time
}

// Server serves hub subscriptions as text/event-stream.
type Server struct {
	opts  Options
	hub   *hub.Hub
	log   *slog.Logger
	now   func() time.Time
	limit *Limiter

	life *lifetime.Tracker // open streams: shutdown, sessions, expiry
	pool *pool
	h2   *h2streams
}

// ending is why the server ends a stream (package lifetime).
type ending = lifetime.Ending

// NewServer builds a stream server over a hub.
func NewServer(opts Options) *Server {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.ShutdownSpread <= 0 {
		opts.ShutdownSpread = 5 * time.Second
	}
	if opts.ClientKey == nil {
		opts.ClientKey = RemoteIP
	}
	if opts.WriteError == nil {
		opts.WriteError = WriteJSONError
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:  opts,
		hub:   opts.Hub,
		log:   opts.Logger,
		now:   opts.Now,
		limit: NewLimiter(opts.MaxStreams, opts.MaxStreamsPerClient),
		life:  lifetime.NewTracker(opts.Now),
	}
	s.pool = newPool(s)
	s.h2 = newH2Streams(opts.WriteTimeout)
	return s
}

// RemoteIP is the host part of the request's remote address.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Handler serves a stream of the given topics; nil topics are read from the
// "topics" query parameter (comma separated, default all).
func (s *Server) Handler(topics []event.Topic) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts := topics
		if ts == nil {
			var err error
			if ts, err = ParseTopics(r.URL.Query().Get("topics")); err != nil {
				s.opts.WriteError(w, r, err)
				return
			}
		}
		s.serve(w, r, ts)
	})
}

// ParseTopics reads "density,alerts"; empty means every topic.
func ParseTopics(q string) ([]event.Topic, error) {
	if strings.TrimSpace(q) == "" {
		return event.Topics, nil
	}
	var out []event.Topic
	seen := map[event.Topic]bool{}
	for _, p := range strings.Split(q, ",") {
		t := event.Topic(strings.TrimSpace(p))
		if !t.Valid() {
			return nil, crowd.Invalidf("topics", "unknown topic %q (want density, alerts)", string(t))
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// LastEventID is the client's resume position: the Last-Event-ID header
// (sent by a native EventSource's own reconnect) or the lastEventId query
// parameter (sent by clients that reconnect on their own timer, which cannot
// set headers).
func LastEventID(r *http.Request) string {
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		return v
	}
	return r.URL.Query().Get("lastEventId")
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, topics []event.Topic) {
	gz := !s.opts.DisableGzip && acceptsGzip(r)
	if r.Method == http.MethodHead {
		// The head a GET would get, and nothing else: no subscription,
		// no slot, no body, and the connection stays usable.
		streamHeaders(w.Header(), gz)
		w.WriteHeader(http.StatusOK)
		return
	}
	// A stream lives for hours: no read deadline set for a request body
	// may end it (what a client sends with a stream is never read).
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	var session string
	var expires time.Time
	if s.opts.Session != nil {
		session, expires = s.opts.Session(r)
	}
	if !expires.IsZero() && !expires.After(s.now()) {
		// The token verified within its leeway, but a stream opened now
		// would end at once: say so rather than loop.
		s.opts.WriteError(w, r, crowd.Errorf(crowd.ErrUnauthorized, "the token has expired; sign in again"))
		return
	}
	client := s.opts.ClientKey(r)
	switch s.limit.Acquire(client) {
	case LimitTotal:
		w.Header().Set("Retry-After", "5")
		s.opts.WriteError(w, r, crowd.Errorf(crowd.ErrUnavailable, "the server holds its maximum of %d streams; retry later", s.opts.MaxStreams))
		return
	case LimitClient:
		w.Header().Set("Retry-After", "5")
		s.opts.WriteError(w, r, crowd.Errorf(crowd.ErrRateLimited, "at most %d concurrent streams per client; close another tab or use the multiplexed /api/crowd-risk/stream", s.opts.MaxStreamsPerClient))
		return
	}
	if !s.life.Enter() {
		s.limit.Release(client)
		w.Header().Set("Retry-After", "2")
		s.opts.WriteError(w, r, crowd.Errorf(crowd.ErrUnavailable, "the server is shutting down; reconnect shortly"))
		return
	}
	lastID := LastEventID(r)
	sub, start, err := s.hub.Subscribe(r.Context(), topics, client, lastID)
	if err != nil {
		s.limit.Release(client)
		s.life.Leave()
		s.log.Error("stream subscribe failed", "category", "sse-connection", "client", client, "lastEventId", lastID, "err", err)
		w.Header().Set("Retry-After", "2")
		s.opts.WriteError(w, r, crowd.Errorf(crowd.ErrUnavailable, "the stream cannot start: %v", err))
		return
	}
	lt := s.life.Watch(session, expires)
	// end releases everything the stream holds; whoever ends the stream
	// (this handler, or the writer pool after a hijack) calls it once.
	end := func() {
		lt.Release()
		s.hub.Unsubscribe(sub)
		s.limit.Release(client)
		s.life.Leave()
	}
	if len(start.Reset) > 0 {
		s.log.Info("stream resume impossible, sending reset and snapshot", "category", "sse-connection",
			"client", client, "lastEventId", lastID, "reason", start.Reason, "topics", start.Reset)
	}

	streamHeaders(w.Header(), gz)
	wr := &wire{gz: gz}
	first := s.startFrames(wr.start(nil), wr, topics, start)
	if s.pooled(r) {
		if conn, hijacked, err := s.hijack(w, first); hijacked {
			if err != nil {
				end()
				s.logEnd(client, err)
				return
			}
			s.hub.CountDelivered(len(start.Replay) + len(start.Snapshot))
			st := &stream{sub: sub, conn: conn, client: client, end: end, wire: wr}
			s.pool.add(st)
			lt.Place(func(why ending) { s.pool.end(st, why) })
			return
		}
	}
	defer end()
	if r.ProtoMajor == 2 {
		s.serveH2(w, r, sub, lt, client, wr, first, len(start.Replay)+len(start.Snapshot))
		return
	}
	ended := make(chan ending, 1)
	lt.Place(func(why ending) {
		select {
		case ended <- why:
		default: // already ending
		}
	})
	s.serveLoop(w, r, sub, client, wr, first, ended, len(start.Replay)+len(start.Snapshot))
}

// pooled says whether a stream is hijacked into the writer pool: HTTP/1.1
// on a platform with raw socket writes (pool_unix.go), and not over TLS.
// An HTTP/2 stream cannot be hijacked. A TLS connection has no descriptor
// the pool could write to directly, and crypto/tls breaks a connection for
// good once one write hits its deadline, so the pool's short-deadline
// writes would drop it at the first full socket: it is served by its own
// goroutine with blocking writes, like HTTP/2.
func (s *Server) pooled(r *http.Request) bool {
	return poolFastPath && !s.opts.DisablePool && r.ProtoMajor == 1 && r.TLS == nil
}

func streamHeaders(h http.Header, gz bool) {
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	// no-transform: a proxy or CDN must not recompress or rewrite the
	// stream (RFC 9111, 5.2.2.6); the events are compressed once, here.
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("X-Accel-Buffering", "no")
	h.Add("Vary", "Accept-Encoding")
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
}

// hijack takes the connection over from net/http once the stream starts,
// writes the response head and the first frames itself, and hands the bare
// connection to the writer pool. An idle stream then costs a socket and a
// few hundred bytes, not a goroutine with net/http's buffers, and the body
// is written without chunked framing (the response ends when the
// connection closes, as HTTP/1.1 allows with "Connection: close").
// hijacked false means the writer cannot be taken over (serve it in this
// goroutine); an error means it was, and is closed again.
func (s *Server) hijack(w http.ResponseWriter, first []byte) (conn net.Conn, hijacked bool, err error) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, false, nil // e.g. a wrapped writer without Hijack
	}
	head := make([]byte, 0, 512+len(first))
	head = append(head, "HTTP/1.1 200 OK\r\n"...)
	w.Header().Set("Connection", "close")
	for k, vs := range w.Header() {
		for _, v := range vs {
			head = append(head, k...)
			head = append(head, ": "...)
			head = append(head, v...)
			head = append(head, "\r\n"...)
		}
	}
	head = append(head, "\r\n"...)
	head = append(head, first...)
	_ = brw // nothing was buffered for writing; what the client sent after its request is ignored
	_ = conn.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	if _, err := conn.Write(head); err != nil {
		conn.Close()
		return nil, true, err
	}
	// The pool's writes never wait, so they need no deadline; an expired
	// one would fail them all.
	_ = conn.SetWriteDeadline(time.Time{})
	return conn, true, nil
}

// serveLoop streams from this handler's goroutine, the portable path: for
// HTTP/1.1 over TLS, platforms without the writer pool, and writers that
// cannot be hijacked. HTTP/2 streams have a path of their own (h2.go).
// It keeps the pool's promises: the same frames (shared, gzip or not),
// heartbeats (the hub's batches carry them), the slow-client policy (the
// hub conflates or cuts off a subscriber this goroutine does not drain; a
// write slower than WriteTimeout ends the stream), and the goodbye on
// shutdown or when the stream's credential ends. A client that goes away
// (an HTTP/2 RST_STREAM, a closed connection) cancels the request's
// context and ends the loop at once.
func (s *Server) serveLoop(w http.ResponseWriter, r *http.Request, sub *hub.Subscriber, client string, wr *wire, first []byte, ended <-chan ending, started int) {
	w.WriteHeader(http.StatusOK)
	c := &conn{w: w, rc: http.NewResponseController(w), timeout: s.opts.WriteTimeout}
	if err := c.write(first); err != nil {
		s.logEnd(client, err)
		return
	}
	s.hub.CountDelivered(started)
	buf := first[:0]
	var batch hub.Batch
	for {
		select {
		case <-r.Context().Done():
			return
		case <-sub.Done():
			s.logEnd(client, sub.Err())
			return
		case <-s.life.Closing():
			c.timeout = goodbyeTimeout
			_ = c.write(s.goodbye(buf[:0], wr, ending{}))
			return
		case why := <-ended:
			c.timeout = goodbyeTimeout
			_ = c.write(s.goodbye(buf[:0], wr, why))
			return
		case <-sub.Ready():
			if !sub.Take(&batch) {
				continue // Done fires next
			}
			buf = s.appendBatch(buf[:0], wr, &batch)
			if err := c.write(buf); err != nil {
				s.logEnd(client, err)
				return
			}
			s.delivered(batch.Events)
		}
	}
}

// appendBatch encodes what a writer took: the shared frames of the events,
// and a heartbeat when one is due.
func (s *Server) appendBatch(buf []byte, wr *wire, b *hub.Batch) []byte {
	for _, e := range b.Events {
		buf = wr.event(buf, e)
	}
	if b.Heartbeat {
		var hb [48]byte
		buf = wr.raw(buf, AppendHeartbeat(hb[:0], s.now().UnixMilli()))
	}
	return buf
}

// goodbye tells a client why its stream ends and when to come back, as
// retry: for native EventSources and as a reconnect message for our own
// client; it ends a compressed stream properly. After a shutdown the delay
// is random within the shutdown spread, so that thousands of screens do not
// come back at once; after its credentials ended a client checks them
// first, so a short delay will do.
func (s *Server) goodbye(buf []byte, wr *wire, why ending) []byte {
	spread := s.opts.ShutdownSpread
	if why.Reauth {
		spread = time.Second
	}
	delay := time.Second/2 + rand.N(spread)
	msg := AppendRetry(nil, delay.Milliseconds())
	msg = AppendEvent(msg, "", reconnectMessage(delay, why))
	return wr.end(wr.raw(buf, msg))
}

func (s *Server) delivered(evs []*event.Event) {
	if len(evs) == 0 {
		return
	}
	s.hub.CountDelivered(len(evs))
	if s.opts.OnDelivered != nil {
		s.opts.OnDelivered(len(evs), evs[0].At)
	}
}

// startFrames encodes what a subscriber gets before its live queue.
func (s *Server) startFrames(buf []byte, wr *wire, topics []event.Topic, st hub.Start) []byte {
	connected, _ := json.Marshal(struct {
		Type      string        `json:"type"`
		Timestamp int64         `json:"timestamp"`
		Topics    []event.Topic `json:"topics"`
		Resumed   bool          `json:"resumed"`
	}{event.TypeConnected, s.now().UnixMilli(), topics, st.Resumed})
	own := AppendEvent(nil, "", connected)
	if len(st.Reset) > 0 {
		reset, _ := json.Marshal(map[string]any{
			"type": event.TypeReset, "data": map[string]any{"topics": st.Reset, "reason": st.Reason},
		})
		own = AppendEvent(own, "", reset)
	}
	// Snapshot events go out without their own (older) ids so that the ids
	// on the wire keep increasing; the checkpoint then sets the position.
	for _, e := range st.Snapshot {
		own = AppendEvent(own, "", e.Data)
	}
	buf = wr.raw(buf, own)
	for _, e := range st.Replay {
		buf = wr.event(buf, e)
	}
	if !st.Checkpoint.IsZero() {
		buf = wr.raw(buf, AppendCheckpoint(nil, st.Checkpoint.String()))
	}
	return buf
}

func reconnectMessage(d time.Duration, why ending) []byte {
	data := map[string]any{"retryMs": d.Milliseconds(), "reason": why.Why()}
	if why.Reauth {
		data["reauth"] = true
	}
	b, _ := json.Marshal(map[string]any{"type": "reconnect", "data": data})
	return b
}

func (s *Server) logEnd(client string, err error) {
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, hub.ErrClosed), errors.Is(err, errPeerClosed):
	case errors.Is(err, hub.ErrSlow):
		s.log.Warn("stream closed: client too slow, it will resume from its last id", "category", "sse-connection", "client", client)
	default:
		s.log.Info("stream write failed", "category", "sse-connection", "client", client, "err", err)
	}
}

// Shutdown tells every open stream when to come back (a random delay within
// ShutdownSpread, as retry: and a reconnect message), ends them, refuses
// new ones, and waits for the handlers to return or ctx to end. Call it
// before http.Server.Shutdown, which does not end streaming responses.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.life.Close() {
		s.pool.shutdown()
		s.h2.shutdown()
	}
	return s.life.Wait(ctx)
}

// EndSession ends every open stream of a session (auth.SessionID), telling
// each client why; the API calls it on sign-out. It returns how many.
func (s *Server) EndSession(session string) int { return s.life.EndSession(session) }

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		// "gzip;q=0" means the client refuses it.
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
		return true
	}
	return false
}

// goodbyeTimeout bounds the last write to a stream (its reconnect message):
// a client that does not take it soon is not worth holding a shutdown for.
// The writer pool gives its goodbyes the same second.
const goodbyeTimeout = time.Second

// conn writes to one client through net/http with a deadline per write.
type conn struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
}

func (c *conn) write(b []byte) error {
	// A deadline per write (not a server-wide WriteTimeout, which would cut
	// every long-lived stream): a stuck client costs at most timeout.
	if err := c.rc.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := c.w.Write(b); err != nil {
		return err
	}
	if err := c.rc.Flush(); err != nil {
		return err
	}
	// Then no deadline until the next write. On HTTP/1.1 a deadline only
	// bounds writes in progress, but net/http's HTTP/2 server arms a timer
	// per stream that resets the stream (INTERNAL_ERROR) when it fires,
	// written to or not: left armed, it would cut every stream that had
	// nothing to send for timeout (a quiet alerts stream between
	// heartbeats).
	if err := c.rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// WriteJSONError is the fallback when Options.WriteError is not given (the
// stream packages' own tests; the WebSocket server's too); the application
// always passes the API's, so a client gets one error shape and one status
// mapping everywhere.
func WriteJSONError(w http.ResponseWriter, _ *http.Request, err error) {
	var e *crowd.Error
	if !errors.As(err, &e) {
		e = crowd.Errorf(crowd.ErrInternal, "internal error")
	}
	status := map[string]int{
		crowd.ErrInvalid: 400, crowd.ErrRateLimited: 429, crowd.ErrUnavailable: 503,
		crowd.ErrUnauthorized: 401, crowd.ErrForbidden: 403,
	}[e.Code]
	if status == 0 {
		status = 500
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}
