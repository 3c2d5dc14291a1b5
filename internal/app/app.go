package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/api"
	"github.com/crowdrisk/crowdrisk/internal/auth"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/datadir"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
	"github.com/crowdrisk/crowdrisk/internal/metrics"
	"github.com/crowdrisk/crowdrisk/internal/mqtt"
	"github.com/crowdrisk/crowdrisk/internal/notify"
	"github.com/crowdrisk/crowdrisk/internal/sim"
	"github.com/crowdrisk/crowdrisk/internal/sse"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/venue"
	"github.com/crowdrisk/crowdrisk/internal/ws"
	"github.com/crowdrisk/crowdrisk/web"
)

// App is one running engine.
type App struct {
	cfg     Config
	log     *slog.Logger
	store   store.Store
	dirLock *datadir.Lock // --data-dir, held while the SQLite store is open
	hub     *hub.Hub
	engine  *engine.Engine
	streams *sse.Server
	ws      *ws.Server
	server  *http.Server
	ln      net.Listener
	venue   crowd.Venue
	metrics *metrics.Metrics
	cluster *clusterParts // nil unless --redis (cluster.go)
	// notifier is nil unless receivers are configured (notify.go).
	notifier *notify.Notifier
	mqtt     *mqtt.Subscriber // nil unless --mqtt (mqtt.go)
}

// New builds the engine and binds its listener (so a caller of Addr knows
// the port before Run), but serves nothing until Run. On error nothing is
// left open and the error names the cause: the command prints it as its one
// line and exits non-zero.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := auth.CheckListen(cfg.Addr, cfg.JWTSecret != "", cfg.Insecure); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log}
	if err := a.build(ctx); err != nil {
		a.abandon()
		return nil, err
	}
	return a, nil
}

// build does New's work; abandon undoes whatever part of it was done.
func (a *App) build(ctx context.Context) error {
	cfg, log := a.cfg, a.log
	var err error
	if a.venue, err = loadVenue(cfg.VenueFile); err != nil {
		return err
	}
	tlsConfig, certs, err := cfg.tlsConfig(log)
	if err != nil {
		return err
	}
	// The port first: a second engine started by mistake fails here,
	// before it touches the first one's database.
	if a.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return err
	}
	if a.store, err = a.openStore(ctx); err != nil {
		return err
	}
	last, err := a.store.LastEventID(ctx)
	if err != nil {
		return fmt.Errorf("store: reading the last event id: %w", err)
	}
	// Everything published before this start has an id at or below floor:
	// ids are clock-based, so the start time bounds even the density events
	// that were never stored. A resume from before it is replayed from the
	// store (alerts) or reset (density).
	floor := max(last, event.NewID(time.Now().UnixMilli(), 0))
	if cfg.Redis != "" {
		if floor, err = a.clusterFloor(ctx, last); err != nil {
			return err
		}
	}
	seq := event.NewSequencer(floor, nil)
	replay := &storeReplay{s: a.store}
	a.hub = hub.New(hub.Options{
		HistorySize: cfg.HistorySize, HistoryAge: cfg.HistoryAge,
		Floor: floor, Durable: replay, Logger: log,
	})
	a.metrics = metrics.New(metrics.Options{Hub: a.hub, Logger: log,
		Zones: func() []crowd.DensityReading { return a.live().Latest() }})
	if certs != nil {
		a.metrics.TLSCertificate(certs.NotAfter)
	}
	if cfg.Redis != "" {
		// Several instances: the engine runs inside the cluster node, on
		// whichever instance holds the lease.
		if err = a.newClusterNode(ctx, floor, a.metrics); err != nil {
			return err
		}
	} else {
		a.engine, err = engine.New(ctx, engine.Options{
			Venue: a.venue, Rules: cfg.Rules(), Store: a.store, Publisher: a.hub, Sequencer: seq,
			MaxClockSkew: cfg.MaxClockSkew, Logger: log, Observer: a.metrics, History: cfg.History(),
		})
		if err != nil {
			return err
		}
		a.hub.Seed(a.engine.StateEvents()...)
		// Each zone's last known reading (stored before a restart), with its age.
		a.hub.Seed(a.engine.DensityStateEvents()...)
		replay.engine = a.engine // resumes also see the batches waiting in its outbox
	}
	if err := a.buildNotifier(ctx); err != nil {
		return err
	}
	if err := a.buildMQTT(); err != nil {
		return err
	}
	a.streams = sse.NewServer(sse.Options{
		Hub: a.hub, WriteTimeout: cfg.WriteTimeout,
		MaxStreams: cfg.MaxStreams, MaxStreamsPerClient: cfg.MaxStreamsPerClient,
		ShutdownSpread: cfg.ShutdownSpread, Logger: log, ClientKey: streamClient,
		Session: streamSession, OnDelivered: a.metrics.OnDelivered,
		WriteError: api.ErrorWriter(log),
	})
	a.ws = ws.NewServer(ws.Options{
		Hub: a.hub, Acknowledge: a.live().Acknowledge, AllowedOrigins: cfg.AllowedOrigins,
		WriteTimeout: cfg.WriteTimeout, MaxStreams: cfg.MaxStreams, MaxStreamsPerClient: cfg.MaxStreamsPerClient,
		ShutdownSpread: cfg.ShutdownSpread, Logger: log, ClientKey: streamClient,
		Session: streamSession, OnDelivered: a.metrics.OnDelivered,
		WriteError: api.ErrorWriter(log),
	})
	handler, err := a.handler()
	if err != nil {
		return err
	}
	a.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig, // nil: plain HTTP
	}
	if tlsConfig != nil {
		// HTTP/2 connections combine the frames of their streams into
		// few writes (internal/sse/h2conn.go); the connection is dropped
		// when its socket takes no write for --write-timeout.
		a.ln = sse.CombineListener(a.ln, h2Linger, cfg.WriteTimeout)
		a.server.ConnState = sse.CombineHTTP2
		// Served by x/net's HTTP/2 server with a scheduler that looks
		// only at streams with frames waiting (internal/sse/h2server.go).
		if err := sse.ConfigureHTTP2(a.server); err != nil {
			return fmt.Errorf("HTTP/2: %w", err)
		}
	}
	return nil
}

// abandon releases what a failed build left open, in reverse order; each
// part may be missing.
func (a *App) abandon() {
	if a.streams != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = a.streams.Shutdown(ctx) // stops the writer pool
		cancel()
	}
	if a.hub != nil {
		a.hub.Close()
	}
	a.closeStore()
	if a.ln != nil {
		a.ln.Close()
	}
}

func (a *App) handler() (http.Handler, error) {
	w, err := web.New(web.Options{Title: a.venue.Name + " · Crowd Risk Engine"})
	if err != nil {
		return nil, err
	}
	var verifier *auth.Verifier
	if a.cfg.JWTSecret != "" {
		if err := auth.CheckSecret([]byte(a.cfg.JWTSecret)); err != nil {
			return nil, err
		}
		verifier = auth.NewVerifier([]byte(a.cfg.JWTSecret), nil, auth.Audience(a.cfg.JWTAudience), auth.Issuer(a.cfg.JWTIssuer))
	}
	return api.New(api.Options{
		Engine: a.live(), Streams: a.streams, WebSocket: a.ws, Web: w, Auth: verifier,
		TestingEnabled: a.cfg.TestingEnabled(), AllowedOrigins: a.cfg.AllowedOrigins,
		AllowAnyHost: a.cfg.Insecure, BodyTimeout: a.cfg.BodyTimeout,
		RateLimit: api.RateLimit{PerSecond: a.cfg.RatePerSecond, Burst: a.cfg.RateBurst},
		Ready:     a.ready, Logger: a.log, Metrics: a.metrics.Handler(),
		Notifications: notify.StatusHandler(a.notifier),
		History:       a.store, HistoryRaw: a.cfg.HistoryRaw,
		SignedOut: func(session string) {
			if n := a.streams.EndSession(session) + a.ws.EndSession(session); n > 0 {
				a.log.Info("signed out: streams ended", "category", "sse-connection", "streams", n)
			}
		},
	})
}

func loadVenue(path string) (crowd.Venue, error) {
	if path == "" {
		return venue.Demo(), nil
	}
	return venue.Load(path)
}

// Addr is the address the engine listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Run serves until ctx ends, then shuts down in order: stop the producers
// (simulator, engine ticks), tell every stream when to come back, stop the
// HTTP server, close the hub and the store.
func (a *App) Run(ctx context.Context) error {
	base := a.BaseURL()
	a.log.Info("crowd risk engine ready",
		"dashboard", base+web.MonitorPath, "testing", base+web.TestingPath, "api", base+"/api/crowd-risk",
		"venue", a.venue.Name, "zones", len(a.venue.Zones), "simulate", a.cfg.Simulate,
		"auth", a.cfg.JWTSecret != "", "testingControls", a.cfg.TestingEnabled(), "tls", a.server.TLSConfig != nil)
	if a.cfg.JWTSecret == "" {
		a.log.Warn("no CROWDRISK_JWT_SECRET: authentication is off and every caller is admin; serving loopback only", "addr", a.Addr())
	}
	if a.cfg.Insecure {
		a.log.Warn("--insecure: serving without authentication beyond loopback; anyone who can reach this port can end an emergency")
	}

	work, stopWork := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	goRun := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(work) }()
	}
	goRun(a.live().Run)
	stopMQTT := a.runMQTT() // after the engine: it feeds it
	goRun(func(ctx context.Context) { a.hub.RunHeartbeat(ctx, a.cfg.Heartbeat) })
	goRun(a.pruneLoop)
	if a.notifier != nil {
		goRun(a.notifier.Run)
	}
	if a.cfg.Simulate {
		s := sim.New(a.venue, sim.Options{Seed: a.cfg.SimSeed, Logger: a.log, Rules: a.cfg.Rules()})
		goRun(func(ctx context.Context) {
			err := s.Run(ctx, func(ctx context.Context, in []crowd.ReadingInput) error {
				return a.simIngest(ctx, in)
			})
			if err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("simulator stopped", "err", err)
			}
		})
	}

	serveErr := make(chan error, 1)
	go func() {
		if a.server.TLSConfig != nil {
			// The certificate is in TLSConfig; ServeTLS adds "h2" to its
			// ALPN protocols, so HTTP/2 is negotiated.
			serveErr <- a.server.ServeTLS(a.ln, "", "")
			return
		}
		serveErr <- a.server.Serve(a.ln)
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	a.log.Info("shutting down")
	stopMQTT() // ingest stops first
	stopWork()
	wg.Wait()
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownSpread+5*time.Second)
	defer cancel()
	if e := a.streams.Shutdown(sctx); e != nil {
		a.log.Warn("streams did not end in time", "err", e)
	}
	if e := a.ws.Shutdown(sctx); e != nil {
		a.log.Warn("websocket connections did not end in time", "err", e)
	}
	if e := a.server.Shutdown(sctx); e != nil && err == nil {
		err = e
	}
	a.hub.Close()
	a.closeStore()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (a *App) closeStore() {
	a.closeCluster()
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Error("closing store", "err", err)
		}
	}
	// After the store: the next engine may open the file only once this
	// one's connections are closed.
	_ = a.dirLock.Release()
	a.dirLock = nil
}

// pruneLoop bounds the stored event history (by age and count).
func (a *App) pruneLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.store.PruneEvents(ctx, time.Now().Add(-a.cfg.EventRetention), a.cfg.EventKeep); err != nil && ctx.Err() == nil {
				a.log.Warn("pruning stored events failed", "err", err)
			}
		}
	}
}

// streamClient keys the per-client stream cap by the subject of a verified
// token when there is one (a control room's screens share one address
// behind NAT, but not one token), else by the connection's address. The
// loopback demo's implicit "local" admin is everyone: keyed by subject, one
// client's streams would lock every other screen out. X-Forwarded-For is
// not read: nothing here says which proxy to trust, and a client could
// write any address into it.
func streamClient(r *http.Request) string {
	if _, verified := auth.CredentialFrom(r.Context()); verified {
		if p, ok := auth.FromContext(r.Context()); ok && p.Subject != "" {
			return "sub:" + p.Subject
		}
	}
	return "ip:" + sse.RemoteIP(r)
}

// streamSession ends a stream with the token that opened it: at its expiry,
// or when its session signs out.
func streamSession(r *http.Request) (string, time.Time) {
	c, _ := auth.CredentialFrom(r.Context())
	return c.Session, c.Expires
}

// storeReplay adapts the store to the hub's durable replay. With a local
// engine it asks the engine, which adds the events still waiting in its
// outbox (set before serving, never changed after).
type storeReplay struct {
	s      store.Store
	engine *engine.Engine
}

func (r *storeReplay) EventsAfter(ctx context.Context, after, upTo event.ID, limit int) ([]*event.Event, bool, error) {
	if r.engine != nil {
		return r.engine.EventsAfter(ctx, after, upTo, limit)
	}
	stored, covered, err := r.s.EventsAfter(ctx, after, upTo, limit)
	if err != nil {
		return nil, false, err
	}
	out := make([]*event.Event, len(stored))
	for i, e := range stored {
		out[i] = &event.Event{ID: e.ID, Topic: e.Topic, Type: e.Type, Data: e.Data, At: e.At}
	}
	return out, covered, nil
}
