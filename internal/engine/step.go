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

// apply commits a step the engine made by itself (readings and what the
// rules raised from them), then publishes its events. The caller holds e.mu.
//
// A store that fails must not silence an alert: the batch goes to the
// outbox, retried in order on every tick (and /readyz reports it), and the
// events are published anyway, because an operator who sees an unpersisted
// alert is better off than one who sees none. While batches wait, a new one
// queues behind them without a commit attempt of its own, so a hung store
// costs the ticks, not every reading. The commit does not inherit the
// caller's cancellation (a client hanging up must not undo what it asked
// for).
func (e *Engine) apply(ctx context.Context, s *step) error {
	e.stamp(s)
	s.batch.Command = commandOf(ctx)
	if !s.batch.Empty() {
		if e.box.len() > 0 {
			e.enqueueLocked(s.batch)
		} else {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
			defer cancel()
			started := e.now()
			if err := e.store.Commit(cctx, s.batch); fenced(err) {
				return ErrFenced
			} else if refused(err) {
				e.log.Error("the store refused a batch as invalid; it is dropped, not retried (a bug upstream)", "err", err)
			} else if err != nil {
				e.storeFailedLocked(err, true)
				e.enqueueLocked(s.batch)
			} else {
				e.storeOKLocked(started)
			}
		}
	}
	e.publishLocked(s)
	return nil
}

// command commits an operator's step (acknowledge, emergency on or off, a
// testing control) and only then publishes it: a 2xx means it is stored.
// When the store cannot take it (or earlier batches still wait, which it
// must not overtake), undo reverts what the caller already changed in
// memory, nothing is published, and the error is crowd.ErrUnavailable
// (503) naming the store's problem. The caller holds e.mu.
func (e *Engine) command(ctx context.Context, s *step, undo func()) error {
	e.stamp(s)
	s.batch.Command = commandOf(ctx)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	e.flushOutboxLocked(cctx)
	err, invalid := errWaiting, false
	if e.box.len() == 0 {
		started := e.now()
		if err = e.store.Commit(cctx, s.batch); err == nil {
			e.storeOKLocked(started)
		} else if invalid = refused(err); !invalid && !fenced(err) {
			e.storeFailedLocked(err, true)
		}
	}
	if err != nil {
		if undo != nil {
			undo()
		}
		e.noticeLocked()
		switch {
		case fenced(err):
			return ErrFenced
		case invalid:
			// Not the store failing: no 503, no degraded state, and no
			// crowd.Error either (the caller's input was fine): a 500.
			return fmt.Errorf("engine: the store refused the change as invalid: %v", err)
		}
		st := e.statusLocked()
		return crowd.Errorf(crowd.ErrUnavailable, "the store cannot commit (%s, %d batches waiting): nothing was changed; try again when it is back",
			st.Reason, st.Waiting)
	}
	e.publishLocked(s)
	return nil
}

// fenced reports that this engine may no longer commit: its own check
// (cluster's local lease) or the store's (a newer leader committed).
func fenced(err error) bool { return errors.Is(err, ErrFenced) || errors.Is(err, store.ErrFenced) }

// refused reports a batch the store rejected for its content (sqlrow's
// validation), which no retry will change: kept in the outbox it would
// block every later commit, and every operator command, for ever.
func refused(err error) bool { return err != nil && crowd.ErrorCode(err) == crowd.ErrInvalid }

// errWaiting stands for "earlier batches still wait": a command must not be
// committed ahead of them.
var errWaiting = errors.New("earlier changes still wait to be committed")

// stamp dates the step's events and vouches, with Through, that once its
// batch is committed the store has every durable event up to the newest id
// handed out: batches commit in id order, and a refused command's ids are
// never published.
func (e *Engine) stamp(s *step) {
	now := e.now()
	for i := range s.batch.Events {
		s.batch.Events[i].At = now
	}
	for _, ev := range s.events {
		ev.At = now
	}
	if !s.batch.Empty() {
		s.batch.Through = e.seq.Last()
	}
}

// publishLocked publishes the step's events, then a store-health change.
func (e *Engine) publishLocked(s *step) {
	if len(s.events) > 0 {
		e.pub.Publish(s.events...)
	}
	e.noticeLocked()
}

func densityEvent(id event.ID, r crowd.DensityReading) *event.Event {
	return &event.Event{ID: id, Topic: event.TopicDensity, Type: event.TypeDensity,
		Key: r.ZoneID, StateKey: "zone:" + r.ZoneID, Data: densityMessage(r)}
}

// densityPrefix is what message(event.TypeDensity, …) writes before the
// reading.
var densityPrefix = func() []byte {
	typ, err := json.Marshal(event.TypeDensity)
	if err != nil {
		panic(err)
	}
	return append(append([]byte(`{"type":`), typ...), `,"data":`...)
}()

// densityMessage is message(event.TypeDensity, r), byte for byte, with the
// reading encoded by AppendJSON instead of reflection: there is one per
// reading taken. A reading json.Marshal cannot encode (a NaN) gets
// message's error payload.
func densityMessage(r crowd.DensityReading) []byte {
	var scratch [512]byte
	b := append(scratch[:0], densityPrefix...)
	if b = r.AppendJSON(b); len(b) == len(densityPrefix) {
		return message(event.TypeDensity, r)
	}
	b = append(b, '}')
	return append([]byte(nil), b...) // of its size: events are kept a while
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
