package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// step collects what one engine operation changes: the store batch and the
// events to publish, with ids assigned in the order the changes happened.
type step struct {
	seq    *event.Sequencer
	obs    Observer
	batch  store.Batch
	events []*event.Event
}

func (e *Engine) newStep() *step { return &step{seq: e.seq, obs: e.opts.Observer} }

func (s *step) density(r crowd.DensityReading) {
	ev := densityEvent(s.seq.Next(), r)
	s.events = append(s.events, ev)
}

func (s *step) alert(a crowd.Alert) {
	ev := alertEvent(s.seq.Next(), a)
	s.batch.Alerts = append(s.batch.Alerts, a)
	s.durable(ev)
	if s.obs != nil {
		s.obs.AlertChanged(a)
	}
}

func (s *step) emergency(m *crowd.EmergencyMode) {
	ev := emergencyEvent(s.seq.Next(), m)
	s.batch.SetEmergency, s.batch.Emergency = true, cloneEmergency(m)
	s.durable(ev)
}

func (s *step) durable(ev *event.Event) {
	s.events = append(s.events, ev)
	s.batch.Events = append(s.batch.Events, store.StoredEvent{ID: ev.ID, Topic: ev.Topic, Type: ev.Type, Data: ev.Data})
}

func (s *step) incidents(in ...crowd.Incident) {
	s.batch.Incidents = append(s.batch.Incidents, in...)
}

// ErrFenced, returned (or wrapped) by a Store's Commit, means this engine
// may no longer change anything: another instance evaluates now (see
// internal/cluster). The step is dropped unpublished, so no screen shows a
// change that the store does not have.
var ErrFenced = crowd.Errorf(crowd.ErrUnavailable, "this instance no longer evaluates; retry shortly")

// commitTimeout bounds one commit: a hung database must not hold the
// engine (and every screen's updates) for longer.
const commitTimeout = 10 * time.Second

// apply commits the step, then publishes its events. The caller holds e.mu.
//
// A store that fails must not silence an alert: the batch goes to an outbox
// that is retried in order (and /readyz reports it), and the events are
// published anyway, because an operator who sees an unpersisted alert is
// better off than one who sees none. The change happened, so the caller is
// told it succeeded. The commit does not inherit the caller's cancellation
// (a client hanging up must not undo what it asked for).
func (e *Engine) apply(ctx context.Context, s *step) error {
	now := e.now()
	for i := range s.batch.Events {
		s.batch.Events[i].At = now
	}
	if !s.batch.Empty() {
		s.batch.Command = commandOf(ctx)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer cancel()
		e.flushOutboxLocked(cctx)
		if len(e.outbox) > 0 {
			e.outbox = append(e.outbox, s.batch)
			e.log.Error("store unavailable: publishing anyway, the commit waits in order", "waiting", len(e.outbox))
		} else if err := e.store.Commit(cctx, s.batch); errors.Is(err, ErrFenced) || errors.Is(err, store.ErrFenced) {
			return ErrFenced
		} else if err != nil {
			e.outbox = append(e.outbox, s.batch)
			e.log.Error("store commit failed; publishing anyway and retrying the commit", "err", err, "alerts", len(s.batch.Alerts))
		}
	}
	for _, ev := range s.events {
		ev.At = now
	}
	if len(s.events) > 0 {
		e.pub.Publish(s.events...)
	}
	return nil
}

// flushOutboxLocked retries batches the store refused, oldest first.
func (e *Engine) flushOutboxLocked(ctx context.Context) {
	for len(e.outbox) > 0 {
		if err := e.store.Commit(ctx, e.outbox[0]); err != nil {
			return
		}
		e.outbox = e.outbox[1:]
		if len(e.outbox) == 0 {
			e.log.Info("store recovered; every waiting batch is committed")
		}
	}
}

// Ready reports whether the store is reachable and nothing waits to be
// committed (for /readyz).
func (e *Engine) Ready(ctx context.Context) error {
	e.mu.Lock()
	e.flushOutboxLocked(ctx)
	waiting := len(e.outbox)
	e.mu.Unlock()
	if waiting > 0 {
		return fmt.Errorf("store: %d batches waiting to be committed", waiting)
	}
	return e.store.Ping(ctx)
}

func densityEvent(id event.ID, r crowd.DensityReading) *event.Event {
	return &event.Event{ID: id, Topic: event.TopicDensity, Type: event.TypeDensity,
		Key: r.ZoneID, StateKey: "zone:" + r.ZoneID, Data: message(event.TypeDensity, r)}
}

func alertEvent(id event.ID, a crowd.Alert) *event.Event {
	return &event.Event{ID: id, Topic: event.TopicAlerts, Type: event.TypeAlert, Severity: int(a.Level),
		StateKey: "alert:" + a.ID, StateDrop: a.Status == crowd.StatusResolved, Data: message(event.TypeAlert, a)}
}

func emergencyEvent(id event.ID, m *crowd.EmergencyMode) *event.Event {
	return &event.Event{ID: id, Topic: event.TopicAlerts, Type: event.TypeEmergency,
		StateKey: "emergency", Data: message(event.TypeEmergency, m)}
}

// message encodes the seed's {"type":…, "data":…} payload.
func message(typ string, data any) []byte {
	b, err := json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{typ, data})
	if err != nil {
		// Only plain structs are encoded; a non-finite number is the one
		// way this fails. Send the type with the reason rather than nothing.
		b, _ = json.Marshal(map[string]any{"type": typ, "data": nil, "error": err.Error()})
	}
	return b
}

func cloneEmergency(m *crowd.EmergencyMode) *crowd.EmergencyMode {
	if m == nil {
		return nil
	}
	c := *m
	c.ZoneIDs = append([]string(nil), m.ZoneIDs...)
	return &c
}
