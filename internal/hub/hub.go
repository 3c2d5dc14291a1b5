// Package hub is the fan-out at the heart of the engine: it takes published
// events in id order, keeps a bounded history and the current state, and
// queues each event for every subscriber of its topic without ever waiting
// for one of them. Subscribing hands back, atomically with registration, the
// replay a resuming client missed (or a reset and a snapshot when it cannot
// be resumed), so there is no gap and no duplicate between replay and live.
package hub

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// Durable reads committed events of durable topics (alerts) from the store,
// for replays that reach back beyond the in-memory history or a restart.
type Durable interface {
	// EventsAfter returns events with after < id <= upTo, oldest first, at
	// most limit; covered is false when some were pruned.
	EventsAfter(ctx context.Context, after, upTo event.ID, limit int) (events []*event.Event, covered bool, err error)
}

// Options configure a Hub. Zero values take the defaults.
type Options struct {
	// HistorySize and HistoryAge bound the in-memory replay history.
	HistorySize int           // default 10000 events
	HistoryAge  time.Duration // default 15 minutes
	// QueueLimit is how many unconflatable events may wait for one
	// subscriber before it is disconnected as slow. Default 1024.
	QueueLimit int
	// ReplayLimit caps a durable replay; a longer gap gets a reset. Default 10000.
	ReplayLimit int
	// Floor is the newest id published before this process started (the
	// store's last id): the memory history holds nothing at or below it.
	Floor   event.ID
	Durable Durable
	Now     func() time.Time
	Logger  *slog.Logger
}

// Hub fans events out to subscribers. Safe for concurrent use.
type Hub struct {
	opts Options
	now  func() time.Time
	log  *slog.Logger

	mu     sync.Mutex
	last   event.ID
	hist   *history
	state  *state
	subs   map[*Subscriber]struct{}
	closed bool
	woken  []*Subscriber // reused by Publish

	stats counters
}

// New creates a hub.
func New(opts Options) *Hub {
	if opts.HistorySize <= 0 {
		opts.HistorySize = 10000
	}
	if opts.HistoryAge <= 0 {
		opts.HistoryAge = 15 * time.Minute
	}
	if opts.QueueLimit <= 0 {
		opts.QueueLimit = 1024
	}
	if opts.ReplayLimit <= 0 {
		opts.ReplayLimit = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		opts:  opts,
		now:   opts.Now,
		log:   opts.Logger,
		last:  opts.Floor,
		hist:  newHistory(opts.HistorySize, opts.HistoryAge, opts.Floor),
		state: newState(),
		subs:  map[*Subscriber]struct{}{},
	}
}

// Seed loads state events (restored from the store after a restart) into
// the snapshot without publishing them. Their ids are ignored.
func (h *Hub) Seed(events ...*event.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range events {
		h.state.apply(e)
	}
}

// Last is the id of the newest published event.
func (h *Hub) Last() event.ID {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// Publish records events (ids strictly increasing, each greater than every
// id published before) and queues them for their subscribers. It never
// blocks on a subscriber. An event out of order is a bug upstream: it is
// logged and dropped rather than breaking every client's resume position.
func (h *Hub) Publish(events ...*event.Event) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	for _, e := range events {
		if e.ID <= h.last {
			h.log.Error("hub: event out of order dropped", "id", e.ID.String(), "last", h.last.String(), "type", e.Type)
			continue
		}
		if e.At.IsZero() {
			e.At = now
		}
		h.last = e.ID
		h.hist.add(e, now)
		h.state.apply(e)
		h.stats.published.Add(1)
		for s := range h.subs {
			if !s.topics.has(e.Topic) {
				continue
			}
			conflated, kicked, wake := s.push(e, h.opts.QueueLimit)
			if wake {
				h.woken = append(h.woken, s)
			}
			if conflated {
				h.stats.conflated.Add(1)
				if s.conflated == 1 {
					h.log.Info("hub: subscriber lagging, its density updates are conflated (newest per zone kept)",
						"client", s.client)
				}
			}
			if kicked {
				// Wake its writer too: one serving from a pool learns
				// only this way that the subscriber has ended.
				h.woken = append(h.woken, s)
				h.dropLocked(s)
				h.stats.slowDisconnects.Add(1)
				h.log.Warn("hub: slow subscriber disconnected; it will resume from its last id",
					"client", s.client, "queueLimit", h.opts.QueueLimit, "topics", s.topics.list())
			}
		}
	}
	for i, s := range h.woken {
		s.wake()
		h.woken[i] = nil
	}
	h.woken = h.woken[:0]
}

// Heartbeat marks a heartbeat due on every subscriber: one ticker for the
// whole hub instead of a timer per connection.
func (h *Hub) Heartbeat() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.heartbeat()
	}
}

// RunHeartbeat calls Heartbeat every interval until ctx ends.
func (h *Hub) RunHeartbeat(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.Heartbeat()
		}
	}
}

// Unsubscribe removes a subscriber (idempotent). Writers call it when their
// connection ends.
func (h *Hub) Unsubscribe(s *Subscriber) {
	h.mu.Lock()
	h.dropLocked(s)
	h.mu.Unlock()
	s.end(context.Canceled)
}

func (h *Hub) dropLocked(s *Subscriber) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	if n := s.conflatedCount(); n > 0 {
		h.log.Info("hub: subscriber ended; density updates conflated for it", "client", s.client, "conflated", n)
	}
	for _, t := range s.topics.list() {
		h.stats.open[topicIndex(t)].Add(-1)
	}
}

// Close ends every subscriber; later publishes are ignored.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	subs := h.subs
	h.subs = map[*Subscriber]struct{}{}
	for s := range subs {
		for _, t := range s.topics.list() {
			h.stats.open[topicIndex(t)].Add(-1)
		}
	}
	h.mu.Unlock()
	for s := range subs {
		s.end(ErrClosed)
		s.wake()
	}
}

// Subscribers is the number of live subscribers.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func topicIndex(t event.Topic) int {
	if t == event.TopicAlerts {
		return 1
	}
	return 0
}
