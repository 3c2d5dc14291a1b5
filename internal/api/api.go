// Package api is the engine's HTTP face: every route of the contract, who may
// call it, strict decoding of what clients send, one mapping from crowd.Error
// to status, rate limits, CORS and the security headers. It owns no state of
// the venue: it speaks to the engine through the Engine interface below.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// Engine is what the API needs of the live monitor.
type Engine interface {
	Venue() crowd.Venue
	// Ingest validates the whole batch first and applies nothing on error;
	// errors are *crowd.Error whose Field is relative to the batch ("[3].density").
	Ingest(ctx context.Context, in []crowd.ReadingInput) ([]crowd.DensityReading, error)
	Latest() []crowd.DensityReading
	History(zoneID string, window time.Duration) ([]crowd.DensityReading, error)
	Alerts(ctx context.Context, f store.AlertFilter) ([]crowd.Alert, error)
	Acknowledge(ctx context.Context, id, actor string) (crowd.Alert, error)
	Emergency() *crowd.EmergencyMode
	ActivateEmergency(ctx context.Context, reason string, zoneIDs []string, actor string) (*crowd.EmergencyMode, error)
	EndEmergency(ctx context.Context, actor string) error
	TriggerViolation(ctx context.Context, zoneID string, level crowd.Level, actor string) ([]crowd.DensityReading, []crowd.Alert, error)
	TriggerBreach(ctx context.Context, zoneID string, level crowd.Level, actor string) ([]crowd.DensityReading, []crowd.Alert, error)
	TestAlert(ctx context.Context, zoneID string, level crowd.Level, message, actor string) (crowd.Alert, error)
	Incidents(ctx context.Context, f store.IncidentFilter) ([]crowd.Incident, error)
}

// Streams serves text/event-stream for a fixed topic set (nil = from ?topics=).
type Streams interface {
	Handler(topics []event.Topic) http.Handler
}

// Web is the dashboard: it registers its pages and static assets.
type Web interface {
	Register(mux *http.ServeMux)
}

// RateLimit is the per-client request budget (token bucket). Zero values
// take the defaults; a negative PerSecond turns the limit off.
type RateLimit struct {
	PerSecond float64
	Burst     int
	// MaxClients bounds the limiter table; the least recently seen client is
	// forgotten first, so a flood of addresses cannot grow memory.
	MaxClients int
}

// Defaults, chosen so that a dashboard (a few polls a second) and a sensor
// gateway posting batches never notice the limit while a runaway script does.
const (
	DefaultPerSecond    = 50
	DefaultBurst        = 100
	DefaultMaxClients   = 10000
	DefaultMaxBodyBytes = 1 << 20
	// MaxBatch is the most readings one POST may carry.
	MaxBatch = 10000
)

// Options configure New.
type Options struct {
	Engine  Engine  // required
	Streams Streams // nil: no stream routes
	Web     Web     // nil: no pages
	// WebSocket serves the streams over WebSocket at /ws (viewer, like
	// the streams); nil: no such route.
	WebSocket http.Handler
	// Auth verifies tokens. nil means the engine runs without a secret (the
	// loopback demo): every request is the admin "local".
	Auth *auth.Verifier
	// AllowAnyHost lifts the DNS-rebinding guard of an engine without Auth:
	// normally such an engine only answers requests whose Host is a loopback
	// name, so that a web page whose domain resolves to 127.0.0.1 cannot
	// drive the local admin API through a browser. Set it for --insecure.
	AllowAnyHost   bool
	TestingEnabled bool
	// AllowedOrigins may call the API from other origins (CORS, with
	// credentials), e.g. "https://ops.example.org". Exact matches only.
	AllowedOrigins []string
	RateLimit      RateLimit
	MaxBodyBytes   int64 // default 1 MiB; larger bodies get 413
	// BodyTimeout bounds the time to receive a request body (408 beyond);
	// default DefaultBodyTimeout.
	BodyTimeout time.Duration
	// SignedOut is told the session (auth.SessionID) a sign-out ended, to
	// end its streams; nil: nothing to end.
	SignedOut func(session string)
	// Ready reports whether the engine can serve (store, Redis...); nil is
	// always ready. Its details (the role and each dependency's state of an
	// instance of a cluster) are added to /readyz's answer, so that a load
	// balancer and an operator see the same thing from one handler.
	Ready   func(context.Context) (details map[string]any, err error)
	Metrics http.Handler // mounted at GET /metrics when not nil
	// Notifications is mounted at GET /api/crowd-risk/notifications/status
	// (viewer) when not nil (internal/notify).
	Notifications http.Handler
	Logger        *slog.Logger
	Now           func() time.Time

	// History serves GET /zones/{id}/history (history.go) when not nil;
	// HistoryRaw is how far back it keeps every reading (older ranges are
	// answered with one-minute aggregates).
	History    HistorySource
	HistoryRaw time.Duration
}

// server holds the handlers' shared dependencies.
type server struct {
	opts      Options
	log       *slog.Logger
	now       func() time.Time
	limits    *limiters // the request rate limit (nil when off)
	reports   *limiters // POST /client-errors, far stricter
	maxBody   int64
	origins   map[string]bool
	requestID func() string

	bodyTimeout time.Duration
}

// New builds the HTTP handler of the engine.
func New(opts Options) (http.Handler, error) {
	if opts.Engine == nil {
		return nil, errors.New("api: Options.Engine is required")
	}
	s := &server{opts: opts, log: opts.Logger, now: opts.Now, maxBody: opts.MaxBodyBytes, requestID: newRequestIDs()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.bodyTimeout = opts.BodyTimeout; s.bodyTimeout <= 0 {
		s.bodyTimeout = DefaultBodyTimeout
	}
	rl := opts.RateLimit
	if rl.MaxClients <= 0 {
		rl.MaxClients = DefaultMaxClients
	}
	if rl.PerSecond >= 0 {
		if rl.PerSecond == 0 {
			rl.PerSecond = DefaultPerSecond
		}
		if rl.Burst <= 0 {
			rl.Burst = max(DefaultBurst, int(rl.PerSecond))
		}
		s.limits = newLimiters(rl.PerSecond, rl.Burst, rl.MaxClients)
	}
	// Client error reports are written to the server log: one a second with
	// a burst of ten is plenty for a real failure and useless for a flood.
	s.reports = newLimiters(1, 10, rl.MaxClients)
	s.origins = map[string]bool{}
	cop := http.NewCrossOriginProtection()
	for _, o := range opts.AllowedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, err
		}
		s.origins[o] = true
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, crowd.Errorf(crowd.ErrForbidden, "cross-origin write refused"))
	}))

	mux := http.NewServeMux()
	if err := s.register(mux); err != nil {
		return nil, err
	}
	var h http.Handler = s.fallback(mux)
	h = cop.Handler(h)
	h = s.cors(h)
	if opts.Auth == nil && !opts.AllowAnyHost {
		h = s.loopbackHostOnly(h)
	}
	h = s.securityHeaders(h)
	h = s.bodyDeadline(h)
	h = s.recoverPanics(h)
	h = s.withRequestID(h)
	return h, nil
}
