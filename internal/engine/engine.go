// Package engine is the live monitor: it validates and applies readings,
// runs the crowd rules, keeps the current state of every zone, manages the
// lifecycle of alerts and emergency mode, commits every change to the store
// and only then publishes it to the streams. The one exception is a store
// that fails while the engine itself changes something (an alert raised by
// the rules): the change is published anyway (an operator must see the
// alert) and its commit waits in an outbox, retried in order, while /readyz
// says so; see apply. An operator's command is never in that position: it
// is committed first or refused with 503, changing nothing; see command.
//
// One mutex serialises every change. That gives the whole engine one order:
// event ids are assigned, committed and published in the same order, which
// is what lets a client resume from any id without a gap.
package engine

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// Publisher takes committed events in id order: the in-process hub, or the
// Redis log in a multi-instance deployment.
type Publisher interface {
	Publish(events ...*event.Event)
}

// Observer is told what the engine did, for metrics. Calls happen with the
// engine's lock held: keep them cheap (counters).
type Observer interface {
	Ingested(readings int)
	AlertChanged(a crowd.Alert)
}

// Options configure an Engine.
type Options struct {
	Venue     crowd.Venue
	Rules     crowd.Rules
	Store     store.Store
	Publisher Publisher
	Sequencer *event.Sequencer
	// MaxClockSkew is how far in the future a reading's timestamp may be
	// (sensor clocks drift); further is rejected. Default 2 minutes.
	MaxClockSkew time.Duration
	// HistoryWindow is how much per-zone history /density/history serves.
	// Default 15 minutes (at most one reading per second is kept).
	HistoryWindow time.Duration
	// History configures the stored density history (history.go).
	History  HistoryOptions
	Now      func() time.Time
	Logger   *slog.Logger
	Observer Observer // optional
}

// Engine is safe for concurrent use.
type Engine struct {
	opts  Options
	store store.Store
	pub   Publisher
	seq   *event.Sequencer
	now   func() time.Time
	log   *slog.Logger
	venue crowd.Venue
	zones map[string]crowd.Zone

	mu        sync.Mutex
	monitor   *crowd.Monitor
	history   map[string]*crowd.History
	sent      map[string]crowd.DensityReading // last reading published per zone
	emergency *crowd.EmergencyMode
	overrides map[string]override // testing: zones held at a density
	ended     *endedEmergency     // the operator's last end of emergency mode
	box       outbox              // batches the store refused, retried in order (outbox.go)
	health    health              // the store's health (health.go)

	hopts HistoryOptions
	hist  *historyBuffer // judged readings waiting to be stored (history.go)
}

// New builds an engine and restores its state (open alerts, emergency mode)
// from the store.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxClockSkew <= 0 {
		opts.MaxClockSkew = 2 * time.Minute
	}
	if opts.HistoryWindow <= 0 {
		opts.HistoryWindow = 15 * time.Minute
	}
	if opts.Rules == (crowd.Rules{}) {
		opts.Rules = crowd.DefaultRules()
	}
	if err := opts.Venue.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		opts:      opts,
		store:     opts.Store,
		pub:       opts.Publisher,
		seq:       opts.Sequencer,
		now:       opts.Now,
		log:       opts.Logger,
		venue:     opts.Venue,
		zones:     map[string]crowd.Zone{},
		history:   map[string]*crowd.History{},
		sent:      map[string]crowd.DensityReading{},
		overrides: map[string]override{},
		hopts:     opts.History.withDefaults(),
	}
	e.hist = &historyBuffer{max: e.hopts.MaxPending}
	for _, z := range opts.Venue.Zones {
		e.zones[z.ID] = z
		e.history[z.ID] = crowd.NewHistory(opts.HistoryWindow)
	}
	// The venue's timezone and counter reset join the rules here, so every
	// way an engine is built (a single instance, a new leader) has them.
	e.monitor = crowd.NewMonitor(opts.Venue.Zones, crowd.MonitorOptions{Rules: opts.Venue.Rules(opts.Rules), NewAlertID: newAlertID})
	if err := e.restore(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// restore reloads open alerts and emergency mode after a restart.
func (e *Engine) restore(ctx context.Context) error {
	open, err := e.store.Alerts(ctx, store.AlertFilter{Open: true, Limit: 100000})
	if err != nil {
		return err
	}
	if err := e.resolveOrphans(ctx, open); err != nil {
		return err
	}
	latest, err := e.restoreLatest(ctx)
	if err != nil {
		return err
	}
	e.monitor.Restore(open, latest)
	// The sensors heard from before: one that stays silent now raises its
	// alert after the timeout, as it would have without the restart.
	sensors, err := e.store.Sensors(ctx)
	if err != nil {
		return err
	}
	now := e.now()
	for _, st := range sensors {
		e.monitor.RestoreSensor(st.ZoneID, st.SensorID, time.UnixMilli(st.LastSeen), now)
	}
	// The door counters' balances: after a restart (or a takeover) a full
	// stand still shows full once its doors report again.
	counters, doors, err := e.store.Counters(ctx)
	if err != nil {
		return err
	}
	zc := make([]crowd.ZoneCounters, 0, len(counters))
	for _, c := range counters {
		var reset time.Time
		if c.ResetAt != 0 {
			reset = time.UnixMilli(c.ResetAt)
		}
		zc = append(zc, crowd.ZoneCounters{ZoneID: c.ZoneID, Persons: c.Persons, Clamped: c.Clamped, ResetAt: reset})
	}
	dc := make([]crowd.DoorCounted, 0, len(doors))
	for _, d := range doors {
		dc = append(dc, crowd.DoorCounted{ZoneID: d.ZoneID, SensorID: d.SensorID, Counted: time.UnixMilli(d.Counted)})
	}
	e.monitor.RestoreCounters(zc, dc)
	em, err := e.store.Emergency(ctx)
	if err != nil {
		return err
	}
	e.emergency = em
	return e.recordBootGap(ctx)
}

// recordBootGap tells the store that ids between how far it is known to be
// complete and where this engine's sequence starts may have been shown by
// the previous process and never stored (it died with commits waiting, or
// between a publish and its Through mark). A client whose last id falls in
// there is reset on resume instead of being told it missed nothing.
func (e *Engine) recordBootGap(ctx context.Context) error {
	complete, err := e.store.LastEventID(ctx)
	if err != nil {
		return err
	}
	start := e.seq.Last()
	e.health.through = max(complete, start)
	if start <= complete {
		return nil
	}
	s := e.newStep()
	s.batch.Lost = []store.Gap{{After: complete, Before: start + 1}}
	return e.apply(ctx, s)
}

// resolveOrphans resolves open alerts of zones the venue no longer has (the
// venue file changed between runs): nobody could acknowledge them, and they
// would stay open in every list for ever.
func (e *Engine) resolveOrphans(ctx context.Context, open []crowd.Alert) error {
	s := e.newStep()
	now := e.now().UnixMilli()
	for _, a := range open {
		if _, ok := e.zones[a.ZoneID]; ok {
			continue
		}
		a.Status, a.ResolvedAt, a.UpdatedAt = crowd.StatusResolved, now, now
		s.alert(a)
		s.incidents(crowd.Incident{Timestamp: now, Kind: crowd.IncidentResolve, ZoneID: a.ZoneID, AlertID: a.ID,
			Actor: "engine", Message: fmt.Sprintf("alert resolved: zone %q is no longer in the venue", a.ZoneID)})
	}
	if s.batch.Empty() {
		return nil
	}
	e.log.Warn("resolved open alerts of zones no longer in the venue", "alerts", len(s.batch.Alerts))
	return e.apply(ctx, s)
}

// StateEvents returns the events that describe the current alert state
// (open alerts and emergency mode), for seeding a hub's snapshot after a
// restart. Their ids are zero: they are snapshot content, not history.
func (e *Engine) StateEvents() []*event.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*event.Event
	for _, a := range e.monitor.OpenAlerts() {
		out = append(out, alertEvent(0, a))
	}
	return append(out, emergencyEvent(0, e.emergency))
}

// Venue returns the venue the engine watches.
func (e *Engine) Venue() crowd.Venue { return e.venue }

// Latest is the newest judged reading of every zone that has one.
func (e *Engine) Latest() []crowd.DensityReading {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.monitor.Latest()
}

// History returns the recent readings of a zone (at most one a second).
func (e *Engine) History(zoneID string, window time.Duration) ([]crowd.DensityReading, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := e.history[zoneID]
	if h == nil {
		return nil, &crowd.Error{Code: crowd.ErrNotFound, Field: "zoneId", Message: "unknown zone " + quote(zoneID)}
	}
	return h.Since(window), nil
}

// Emergency returns the current emergency mode, nil when none.
func (e *Engine) Emergency() *crowd.EmergencyMode {
	e.mu.Lock()
	defer e.mu.Unlock()
	return cloneEmergency(e.emergency)
}

// Alerts lists alerts from the store (the store has every alert, the
// monitor only the open ones).
func (e *Engine) Alerts(ctx context.Context, f store.AlertFilter) ([]crowd.Alert, error) {
	return e.store.Alerts(ctx, f)
}

// Incidents lists the incident log.
func (e *Engine) Incidents(ctx context.Context, f store.IncidentFilter) ([]crowd.Incident, error) {
	return e.store.Incidents(ctx, f)
}

func newAlertID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "al_" + hex.EncodeToString(b[:])
}

func quote(s string) string { return `"` + s + `"` }

// Warm replays judged readings another instance published (the event log a
// new leader followed) into the rules' memory and the zones' histories, so a
// takeover delays no alert and every zone shows its last known state (see
// crowd.Monitor.Warm). Call it before the engine takes readings.
func (e *Engine) Warm(readings []crowd.DensityReading) {
	readings = slices.Clone(readings)
	slices.SortStableFunc(readings, func(a, b crowd.DensityReading) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range readings {
		if e.history[r.ZoneID] == nil {
			continue
		}
		e.monitor.Warm(r)
		e.history[r.ZoneID].Add(r)
		e.sent[r.ZoneID] = r
	}
}
