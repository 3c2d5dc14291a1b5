// Package notify tells people outside the control room: every alert change
// is POSTed to webhook receivers (signed) or to an Alertmanager, and a
// critical or emergency alert nobody acknowledged in time is escalated.
//
// Where the changes come from: the notifier reads the committed alert
// events of the store (store.EventsAfter) behind a cursor kept in the same
// store. So it can only ever notify a change the store has; a change the
// engine published while its store was down (engine.apply's outbox) is
// notified once its commit goes through, and an operator's command the
// store refused is never notified. The engine needs no hook and is never
// held up: the notifier runs beside it and only reads.
//
// The cursor, the queue of deliveries and what the notifier remembers of
// each open alert are in the store (store.WebhookQueue) and move together
// in one transaction: a restart loses nothing and sends nothing twice that
// was acknowledged by its receiver. Delivery is at least once: a receiver
// that answered 2xx after the notifier gave up waiting (a timeout, a crash
// before the row was deleted) gets the same delivery id again and must
// dedupe on it.
//
// With several instances only the leader notifies (Options.Leader); the
// cursor check of WebhookAdvance makes a deposed leader's last step fail
// instead of queueing the same changes twice.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// Queue is the store the notifier needs: the engine's store (events,
// alerts) with its webhook queue.
type Queue interface {
	store.Store
	store.WebhookQueue
}

// Options configure a Notifier. Zero values take the defaults.
type Options struct {
	Store     Queue
	Receivers []Receiver // validated (Validate)
	// Secret keys the signature; empty only when unsigned delivery was
	// asked for explicitly (the app refuses it otherwise).
	Secret []byte
	// RetryFor is how long a delivery is retried before it is given up
	// (default 24h).
	RetryFor time.Duration
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration
	// EscalateAfter is, per level, the time without acknowledgement after
	// which an alert is escalated; 0 or missing: never.
	EscalateAfter map[crowd.Level]time.Duration
	// MaxQueue bounds the undelivered deliveries of each receiver (default
	// 100000); beyond it the oldest are dropped (see store.WebhookAdvance).
	MaxQueue int
	// ResendEvery is how often open alerts are sent again to Alertmanager
	// receivers (default 1m, below Alertmanager's resolve_timeout of 5m).
	ResendEvery time.Duration
	// Poll is how often the store is read for new events and due
	// deliveries (default 300ms).
	Poll time.Duration
	// BackoffBase and BackoffMax shape the retry delays: base·2^(n-1),
	// capped at max, with jitter (defaults 1s and 2m).
	BackoffBase, BackoffMax time.Duration
	// Leader reports whether this instance may notify; nil: always.
	Leader func() bool
	// RecordIncident writes a line to the incident log (the engine's, so
	// it is committed like every other line); nil: log only.
	RecordIncident func(context.Context, crowd.Incident) error
	// DashboardURL is the monitor page, for Alertmanager's generatorURL.
	DashboardURL string
	Registerer   prometheus.Registerer
	Client       *http.Client
	Now          func() time.Time // the engine's clock
	Logger       *slog.Logger
}

// Notifier delivers notifications. Create it with New, run it with Run.
type Notifier struct {
	opts      Options
	q         Queue
	receivers []*receiver
	byName    map[string]*receiver
	now       func() time.Time
	log       *slog.Logger
	client    *http.Client
	metrics   *metrics

	mu       sync.Mutex
	loaded   bool // states reflect the store at cursor
	cursor   event.ID
	states   map[string]store.WebhookAlert
	uncover  time.Time // last "events were pruned" warning
	forgotOK bool      // deliveries of removed receivers were dropped

	warnMu sync.Mutex
	warned map[string]time.Time // last warning per kind (warn)
}

// warn logs a recurring failure (a store that is down fails every poll) at
// most once a minute per kind.
func (n *Notifier) warn(kind, msg string, args ...any) {
	n.warnMu.Lock()
	now := time.Now()
	if now.Sub(n.warned[kind]) < time.Minute {
		n.warnMu.Unlock()
		return
	}
	if n.warned == nil {
		n.warned = map[string]time.Time{}
	}
	n.warned[kind] = now
	n.warnMu.Unlock()
	n.log.Warn(msg, args...)
}

// New checks the options. Nothing runs until Run.
func New(opts Options) (*Notifier, error) {
	if opts.Store == nil {
		return nil, errors.New("notify: no store")
	}
	if opts.RetryFor <= 0 {
		opts.RetryFor = 24 * time.Hour
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = 100000
	}
	if opts.ResendEvery <= 0 {
		opts.ResendEvery = time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = 300 * time.Millisecond
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = time.Second
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 2 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Leader == nil {
		opts.Leader = func() bool { return true }
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	n := &Notifier{opts: opts, q: opts.Store, now: opts.Now, log: opts.Logger.With("category", "notify"),
		byName: map[string]*receiver{}, client: opts.Client}
	if n.client == nil {
		n.client = &http.Client{
			Timeout: opts.Timeout,
			// A redirected POST would become a GET: a redirect is a
			// misconfigured URL, reported as a failure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	rs, err := Validate(opts.Receivers)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		r := &receiver{Receiver: rs[i], wake: make(chan struct{}, 1)}
		n.receivers = append(n.receivers, r)
		n.byName[r.Name] = r
	}
	if n.metrics, err = newMetrics(opts.Registerer); err != nil {
		return nil, err
	}
	return n, nil
}

// Run notifies until ctx ends: one loop reads events and escalates, one
// loop per receiver delivers (a slow receiver holds up no other), one
// re-sends open alerts to Alertmanager receivers.
func (n *Notifier) Run(ctx context.Context) {
	var wg sync.WaitGroup
	loop := func(every time.Duration, f func(context.Context), wake <-chan struct{}) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				f(ctx)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				case <-wake:
				}
			}
		}()
	}
	loop(n.opts.Poll, func(ctx context.Context) {
		if n.opts.Leader() {
			n.Step(ctx)
		} else {
			n.mu.Lock()
			n.loaded = false // a new leadership starts from the store
			n.mu.Unlock()
		}
	}, nil)
	loop(2*time.Second, n.refreshStats, nil)
	for _, r := range n.receivers {
		loop(n.opts.Poll, func(ctx context.Context) {
			if n.opts.Leader() {
				n.deliverDue(ctx, r)
			}
		}, r.wake)
	}
	if n.hasType(TypeAlertmanager) {
		loop(n.opts.ResendEvery, func(ctx context.Context) {
			if n.opts.Leader() {
				n.resend(ctx)
			}
		}, nil)
	}
	wg.Wait()
}

// Step reads the new committed events into deliveries, then escalates what
// is due. Run calls it; tests call it to go step by step.
func (n *Notifier) Step(ctx context.Context) {
	if err := n.tail(ctx); err != nil && ctx.Err() == nil {
		n.warn("tail", "notifications: reading alert changes failed; retrying", "err", err)
		return
	}
	if err := n.escalate(ctx); err != nil && ctx.Err() == nil {
		n.warn("escalate", "notifications: escalation check failed; retrying", "err", err)
	}
}

// load reads the cursor and the alert states from the store when this
// instance does not hold them (first step, a new leadership, another
// instance advanced meanwhile). It reports whether there is a cursor.
func (n *Notifier) load(ctx context.Context) (bool, error) {
	cur, ok, err := n.q.WebhookCursor(ctx)
	if err != nil || !ok {
		return ok, err
	}
	if n.loaded && cur == n.cursor {
		return true, nil
	}
	sts, err := n.q.WebhookAlerts(ctx)
	if err != nil {
		return true, err
	}
	n.states = make(map[string]store.WebhookAlert, len(sts))
	for _, s := range sts {
		n.states[s.AlertID] = s
	}
	n.cursor, n.loaded = cur, true
	if !n.forgotOK {
		names := make([]string, 0, len(n.receivers))
		for _, r := range n.receivers {
			names = append(names, r.Name)
		}
		dropped, err := n.q.WebhookForget(ctx, names)
		if err != nil {
			return true, err
		}
		if dropped > 0 {
			n.log.Warn("notifications: dropped the queued deliveries of receivers no longer configured", "deliveries", dropped)
		}
		n.forgotOK = true
	}
	return true, nil
}

// tail turns the committed events after the cursor into deliveries.
func (n *Notifier) tail(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ok, err := n.load(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return n.start(ctx)
	}
	for {
		evs, covered, err := n.q.EventsAfter(ctx, n.cursor, 0, 500)
		if err != nil {
			return err
		}
		if !covered && len(evs) > 0 && n.now().Sub(n.uncover) > time.Minute {
			n.uncover = n.now()
			n.log.Error("notifications: alert events were pruned or lost before they were notified; receivers miss those changes",
				"after", n.cursor.String())
		}
		if len(evs) == 0 {
			return nil
		}
		adv, staged := n.plan(evs)
		if err := n.advance(ctx, adv); err != nil {
			return err
		}
		for id, s := range staged {
			if s.Status == crowd.StatusResolved {
				delete(n.states, id)
			} else {
				n.states[id] = s
			}
		}
		n.cursor = adv.To
		n.wakeFor(adv.Deliveries)
		if len(evs) < 500 {
			return nil
		}
	}
}

// Init places the cursor, the first time notifications are switched on,
// after the last stored event: receivers get the changes from then on,
// not the whole stored history. Call it before the engine takes readings,
// so that nothing committed after the start is skipped. With a cursor
// already there (every later start, any other instance) it does nothing.
func (n *Notifier) Init(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok, err := n.q.WebhookCursor(ctx); err != nil || ok {
		return err
	}
	return n.start(ctx)
}

func (n *Notifier) start(ctx context.Context) error {
	last, err := n.q.LastEventID(ctx)
	if err != nil {
		return err
	}
	_, err = n.q.WebhookAdvance(ctx, store.WebhookAdvance{From: 0, To: last})
	if errors.Is(err, store.ErrWebhookCursorMoved) {
		return nil // another instance placed it
	}
	if err == nil {
		n.log.Info("notifications: switched on; starting after the last stored event", "event", last.String())
	}
	return err
}

// advance commits a step; a cursor another instance moved means this one
// must reload before it goes on.
func (n *Notifier) advance(ctx context.Context, adv store.WebhookAdvance) error {
	adv.MaxPerReceiver = n.opts.MaxQueue
	dropped, err := n.q.WebhookAdvance(ctx, adv)
	if errors.Is(err, store.ErrWebhookCursorMoved) {
		n.loaded = false
	}
	if err != nil {
		return err
	}
	for name, k := range dropped {
		n.metrics.outcome(name, outcomeDropped, k)
		n.log.Error("notifications: queue bound reached; the oldest undelivered deliveries were dropped",
			"receiver", name, "dropped", k, "bound", n.opts.MaxQueue)
	}
	return nil
}

// plan is the step for evs: the new cursor, the alert states and the
// deliveries, staged (states holds only what is committed).
func (n *Notifier) plan(evs []store.StoredEvent) (store.WebhookAdvance, map[string]store.WebhookAlert) {
	adv := store.WebhookAdvance{From: n.cursor, To: n.cursor}
	staged := map[string]store.WebhookAlert{}
	for _, ev := range evs {
		adv.To = ev.ID
		if ev.Type != event.TypeAlert {
			continue
		}
		var msg struct {
			Data json.RawMessage `json:"data"`
		}
		var a crowd.Alert
		if err := json.Unmarshal(ev.Data, &msg); err != nil || json.Unmarshal(msg.Data, &a) != nil || a.ID == "" {
			n.log.Error("notifications: an alert event could not be read; skipped", "event", ev.ID.String())
			continue
		}
		prev, had := staged[a.ID]
		if !had {
			prev, had = n.states[a.ID]
		}
		var prevp *store.WebhookAlert
		if had {
			prevp = &prev
		}
		change, st := derive(prevp, a, ev.At.UnixMilli())
		staged[a.ID] = st
		if st.Status == crowd.StatusResolved {
			adv.Forget = append(adv.Forget, a.ID)
		} else {
			adv.Alerts = append(adv.Alerts, st)
		}
		var prevLevel *crowd.Level
		if had && prev.Level != a.Level {
			l := prev.Level
			prevLevel = &l
		}
		for _, r := range n.receivers {
			if !r.accepts(a) || (r.Escalation && st.Escalated < 0) {
				continue
			}
			adv.Deliveries = append(adv.Deliveries, n.delivery(r, Payload{Change: change, At: ev.At.UnixMilli(),
				EventID: ev.ID.String(), Alert: msg.Data, PreviousLevel: prevLevel}))
		}
	}
	// Only the latest state of each alert is written.
	adv.Alerts = lastByID(adv.Alerts)
	return adv, staged
}

func lastByID(sts []store.WebhookAlert) []store.WebhookAlert {
	last := map[string]int{}
	for i, s := range sts {
		last[s.AlertID] = i
	}
	out := sts[:0]
	for i, s := range sts {
		if last[s.AlertID] == i {
			out = append(out, s)
		}
	}
	return out
}

// delivery queues p for r.
func (n *Notifier) delivery(r *receiver, p Payload) store.WebhookDelivery {
	p.DeliveryID = newDeliveryID()
	b, _ := json.Marshal(p) // plain fields and a valid RawMessage
	now := n.now().UnixMilli()
	var a struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(p.Alert, &a)
	return store.WebhookDelivery{ID: p.DeliveryID, Receiver: r.Name, Key: a.ID, Payload: b, CreatedAt: now, NextAt: now}
}

// derive names the change from prev (nil: an alert not seen before) to a,
// and the state to remember. at is when the engine committed it.
func derive(prev *store.WebhookAlert, a crowd.Alert, at int64) (string, store.WebhookAlert) {
	st := store.WebhookAlert{AlertID: a.ID, Level: a.Level, Status: a.Status, Muted: a.Muted,
		Notifications: a.Notifications, LevelSince: at, Escalated: -1}
	if prev == nil {
		if a.Status == crowd.StatusResolved {
			return ChangeResolve, st
		}
		return ChangeRaise, st
	}
	st.Escalated = prev.Escalated
	if a.Level == prev.Level {
		st.LevelSince = prev.LevelSince
	}
	switch {
	case a.Status == crowd.StatusResolved:
		return ChangeResolve, st
	case a.Status == crowd.StatusAcknowledged && prev.Status != crowd.StatusAcknowledged:
		return ChangeAcknowledge, st
	case a.Level > prev.Level:
		return ChangeEscalate, st
	case a.Level < prev.Level:
		return ChangeDeescalate, st
	case a.Muted && !prev.Muted:
		return ChangeMute, st
	case !a.Muted && prev.Muted:
		return ChangeUnmute, st
	case a.Notifications > prev.Notifications:
		return ChangeRenotify, st
	}
	return ChangeUpdate, st
}

func (n *Notifier) wakeFor(ds []store.WebhookDelivery) {
	for _, d := range ds {
		if r := n.byName[d.Receiver]; r != nil {
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}
	}
}

func (n *Notifier) hasType(t string) bool {
	for _, r := range n.receivers {
		if r.Type == t {
			return true
		}
	}
	return false
}

// escalate sends every escalation that is due, each in its own step.
func (n *Notifier) escalate(ctx context.Context) error {
	var escalationReceivers bool
	for _, r := range n.receivers {
		escalationReceivers = escalationReceivers || r.Escalation
	}
	if !escalationReceivers {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.loaded {
		return nil // tail loads first
	}
	now := n.now()
	ids := make([]string, 0, len(n.states))
	for id := range n.states {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		st := n.states[id]
		after := n.opts.EscalateAfter[st.Level]
		if after <= 0 || st.Status != crowd.StatusActive || st.Muted || st.Escalated >= st.Level ||
			now.Sub(time.UnixMilli(st.LevelSince)) < after {
			continue
		}
		// The store has the last word: an acknowledgement committed since
		// the last read must not be escalated (the next read catches up).
		a, err := n.q.Alert(ctx, id)
		if err != nil {
			return err
		}
		if a.Status != crowd.StatusActive || a.Level != st.Level {
			continue
		}
		if err := n.escalateOne(ctx, st, a, after); err != nil {
			return err
		}
	}
	return nil
}

func (n *Notifier) escalateOne(ctx context.Context, st store.WebhookAlert, a crowd.Alert, after time.Duration) error {
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	var names []string
	adv := store.WebhookAdvance{From: n.cursor, To: n.cursor}
	msg := fmt.Sprintf("%s %s alert in zone %s not acknowledged within %s", a.Level, a.Kind, a.ZoneID, after)
	for _, r := range n.receivers {
		if !r.Escalation || !r.accepts(a) {
			continue
		}
		names = append(names, r.Name)
		adv.Deliveries = append(adv.Deliveries, n.delivery(r, Payload{Change: ChangeEscalation, At: n.now().UnixMilli(),
			Alert: raw, Escalation: &Escalation{Level: a.Level, AfterSeconds: after.Seconds(), Message: msg}}))
	}
	st.Escalated = st.Level
	adv.Alerts = []store.WebhookAlert{st}
	if err := n.advance(ctx, adv); err != nil {
		return err
	}
	n.states[st.AlertID] = st
	n.wakeFor(adv.Deliveries)
	n.metrics.escalations.WithLabelValues(a.Level.String()).Inc()
	line := msg + ": escalated to " + joinOr(names, "no escalation receiver (none takes this zone, kind or level)")
	n.log.Warn("notifications: "+line, "alert", a.ID)
	if n.opts.RecordIncident != nil {
		level := a.Level
		in := crowd.Incident{Timestamp: n.now().UnixMilli(), Kind: crowd.IncidentAlert, ZoneID: a.ZoneID, AlertID: a.ID,
			Level: &level, Actor: "notifier", Message: line}
		if err := n.opts.RecordIncident(ctx, in); err != nil {
			// The escalation went out; only its log line is missing.
			n.log.Error("notifications: the escalation could not be written to the incident log", "alert", a.ID, "err", err)
		}
	}
	return nil
}

func joinOr(names []string, none string) string {
	if len(names) == 0 {
		return none
	}
	out := names[0]
	for _, s := range names[1:] {
		out += ", " + s
	}
	return out
}
