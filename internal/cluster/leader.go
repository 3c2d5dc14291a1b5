package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/redisbus"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// leadership is everything that exists only while this node holds the
// lease: the engine, its sequence, and the fence its writes carry.
type leadership struct {
	eng    *engine.Engine
	seq    *event.Sequencer
	fence  redisbus.Fence
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// validUntil is when the lease may have expired unless renewed. A
	// time.Time from the clock carries a monotonic reading, so a wall-clock
	// step (NTP) cannot stretch the lease beyond what Redis grants.
	validUntil atomic.Pointer[time.Time]
	now        func() time.Time
}

func (l *leadership) extend(until time.Time) { l.validUntil.Store(&until) }

func (l *leadership) valid() bool {
	u := l.validUntil.Load()
	return u != nil && l.now().Before(*u)
}

// becomeLeader starts the engine after the lease was taken. engine.New
// restores open alerts and emergency mode from the shared store; the
// sequence starts above everything in the stream and the store, so the ids
// continue where the previous leader stopped.
func (n *Node) becomeLeader(ctx context.Context, f redisbus.Fence, validUntil time.Time) error {
	// Raise the fence in the store before anything else: from now on no
	// earlier leader (paused in a commit, cut off from Redis) can commit,
	// so whatever it had not committed is this leader's to do.
	if err := n.opts.Store.Commit(ctx, store.Batch{Fence: f.Token}); err != nil {
		return fmt.Errorf("raising the fence to %d: %w", f.Token, err)
	}
	_, streamLast, err := n.events.Bounds(ctx)
	if err != nil {
		return err
	}
	storeLast, err := n.opts.Store.LastEventID(ctx)
	if err != nil {
		return err
	}
	// Committed events after both the stream's newest and what this
	// instance has followed were committed by a leader that died (or lost
	// Redis) before they reached the stream: no instance has shown them
	// live. Append them first, under the new fence, with their own ids.
	// (Bounded by this instance's position too, so a stream lost with
	// Redis' data does not make the whole stored history go out again.)
	if from := max(streamLast, n.view.position()); storeLast > from {
		if err := n.republish(ctx, f, from, storeLast); err != nil {
			return err
		}
	}
	seed := max(streamLast, storeLast, n.view.position())
	l := &leadership{seq: event.NewSequencer(seed, n.now), fence: f, now: n.now}
	l.extend(validUntil)
	l.eng, err = engine.New(ctx, engine.Options{
		Venue: n.opts.Venue, Rules: n.opts.Rules,
		Store:     fencedStore{Store: n.opts.Store, lead: l, node: n},
		Publisher: &appender{node: n, lead: l},
		Sequencer: l.seq, MaxClockSkew: n.opts.MaxClockSkew, HistoryWindow: n.opts.HistoryWindow,
		History: n.opts.History, Now: n.now, Logger: n.log, Observer: n.opts.Observer,
	})
	if err != nil {
		return err
	}
	// Judge the next reading as the previous leader would have: its
	// smoothing, dwell and hysteresis clocks come back from the readings
	// this instance followed (a takeover must delay no alert).
	var recent []crowd.DensityReading
	for _, z := range n.opts.Venue.Zones {
		h, _ := n.view.History(z.ID, 0)
		recent = append(recent, h...)
	}
	l.eng.Warm(recent)
	lctx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	l.wg.Add(2)
	go func() { defer l.wg.Done(); l.eng.Run(lctx) }()
	go func() { defer l.wg.Done(); n.consume(lctx, l) }()
	n.mu.Lock()
	n.lead, n.role = l, RoleLeader
	n.mu.Unlock()
	n.log.Info("evaluating: this instance holds the lease", "token", f.Token, "from", seed.String())
	return nil
}

// republish appends the committed events in (after, upTo] to the stream.
func (n *Node) republish(ctx context.Context, f redisbus.Fence, after, upTo event.ID) error {
	for after < upTo {
		stored, _, err := n.opts.Store.EventsAfter(ctx, after, upTo, 1000)
		if err != nil {
			return err
		}
		if len(stored) == 0 {
			return nil
		}
		evs := make([]*event.Event, len(stored))
		for i, se := range stored {
			evs[i] = restoredEvent(se)
		}
		if err := n.events.Append(ctx, f, evs...); err != nil {
			return fmt.Errorf("republishing committed events: %w", err)
		}
		n.log.Warn("republished committed events that never reached the stream", "events", len(evs),
			"from", evs[0].ID.String(), "to", evs[len(evs)-1].ID.String())
		after = stored[len(stored)-1].ID
	}
	return nil
}

// restoredEvent rebuilds a stored alert-stream event with the state key the
// hubs need for their snapshots (the store keeps only what goes on the wire).
func restoredEvent(se store.StoredEvent) *event.Event {
	e := &event.Event{ID: se.ID, Topic: se.Topic, Type: se.Type, Data: se.Data, At: se.At}
	switch se.Type {
	case event.TypeEmergency:
		e.StateKey = "emergency"
	case event.TypeAlert:
		var m struct {
			Data crowd.Alert `json:"data"`
		}
		if json.Unmarshal(se.Data, &m) == nil && m.Data.ID != "" {
			e.StateKey = "alert:" + m.Data.ID
			e.StateDrop = m.Data.Status == crowd.StatusResolved
		}
	}
	return e
}

// stepDown stops the engine. Safe to call when not leading.
func (n *Node) stepDown(why string) {
	n.mu.Lock()
	l := n.lead
	n.lead = nil
	if l != nil {
		n.role = RoleFollower
	}
	n.mu.Unlock()
	if l == nil {
		return
	}
	l.extend(time.Time{}) // refuse every further write at once
	l.cancel()
	l.wg.Wait()
	n.log.Warn("stopped evaluating", "reason", why, "token", l.fence.Token)
}

// fencedStore refuses commits once the lease may have expired, and sends
// the lease's token with every batch. The local check closes the window
// from this side (a leader paused past its lease wakes up unable to
// commit); the token closes it in the database itself, in the commit's own
// transaction: once a newer leader has committed, nothing of an older one
// can, whatever its clock says or wherever it was paused.
type fencedStore struct {
	store.Store
	lead *leadership
	node *Node
}

func (s fencedStore) Commit(ctx context.Context, b store.Batch) error {
	if !s.lead.valid() {
		return engine.ErrFenced // the engine then publishes nothing of this step
	}
	b.Fence = s.lead.fence.Token
	err := s.Store.Commit(ctx, b)
	if errors.Is(err, store.ErrFenced) {
		s.node.log.Error("commit refused by the store: a newer leader has committed", "token", b.Fence)
		s.node.signalDeposed()
		return engine.ErrFenced
	}
	return err
}

// WriteHistory writes density history only while the lease holds: a
// deposed leader's last buffered second is dropped rather than written
// beside its successor's.
func (s fencedStore) WriteHistory(ctx context.Context, b store.HistoryBatch) error {
	if !s.lead.valid() {
		return engine.ErrFenced
	}
	return s.Store.WriteHistory(ctx, b)
}

// appender is the leader engine's Publisher: it appends to the shared
// stream under the fence. Every instance (this one too) publishes into its
// hub only what it reads back from the stream, so all hubs hold the same
// events with the same ids. The engine calls Publish with its lock held, so
// a Redis failure must not block it for long: events that could not be
// appended wait in order and go out before the next ones.
type appender struct {
	node    *Node
	lead    *leadership
	pending []*event.Event
}

// maxPending bounds the readings that wait for Redis; beyond it the oldest
// would be worth nothing anyway. Alerts and emergency changes are kept.
const maxPending = 10000

func (a *appender) Publish(events ...*event.Event) {
	a.pending = append(a.pending, events...)
	if over := len(a.pending) - maxPending; over > 0 {
		// Drop the oldest readings, never an alert or an emergency change:
		// a reading is superseded by the next one, an alert is not.
		kept := a.pending[:0]
		dropped := 0
		for _, e := range a.pending {
			if dropped < over && !e.Topic.Durable() {
				dropped++
				continue
			}
			kept = append(kept, e)
		}
		clear(a.pending[len(kept):])
		a.pending = kept
		a.node.log.Error("redis unreachable too long: dropping the oldest unappended readings", "dropped", dropped)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := a.node.events.Append(ctx, a.lead.fence, a.pending...)
	if errors.Is(err, redisbus.ErrOutOfOrder) {
		// An earlier append went through but its reply was lost (a
		// timeout): what the stream already has must not be sent again,
		// or every later append would be refused too.
		if _, last, berr := a.node.events.Bounds(ctx); berr == nil {
			i := 0
			for i < len(a.pending) && a.pending[i].ID <= last {
				i++
			}
			a.pending = a.pending[i:]
			err = a.node.events.Append(ctx, a.lead.fence, a.pending...)
		}
	}
	switch {
	case err == nil:
		a.pending = a.pending[:0]
	case errors.Is(err, redisbus.ErrFenced):
		a.node.log.Error("append refused: the lease is lost", "events", len(a.pending))
		a.pending = nil
		a.node.signalDeposed()
	default:
		a.node.setRedisErr(err)
	}
}

// consume executes the commands followers queue, in order, from the
// position the previous leader persisted: readings that no leader has
// consumed yet are still there after a takeover.
func (n *Node) consume(ctx context.Context, l *leadership) {
	pos := ""
	for ctx.Err() == nil {
		if pos == "" {
			p, err := n.queue.Position(ctx)
			if err != nil {
				n.setRedisErr(err)
				sleep(ctx, 200*time.Millisecond)
				continue
			}
			pos = p
		}
		cmds, err := n.queue.Read(ctx, pos, 100, time.Second)
		if err != nil {
			if ctx.Err() == nil {
				n.setRedisErr(err)
				sleep(ctx, 200*time.Millisecond)
			}
			continue
		}
		for _, c := range cmds {
			reply := n.execute(ctx, l, c)
			if err := n.queue.Done(ctx, l.fence, c, reply); errors.Is(err, redisbus.ErrFenced) {
				n.signalDeposed()
				return
			} else if err != nil {
				n.log.Warn("could not record a handled command", "err", err, "op", c.Op)
			}
			pos = c.ID
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
