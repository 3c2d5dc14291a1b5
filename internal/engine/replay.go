package engine

import (
	"context"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// EventsAfter is the hub's durable replay: the store's events, then those
// still waiting in the outbox, so a resume while the store is down misses
// none of them. Taking the outbox first and the store second means a batch
// committed in between shows up twice rather than not at all; duplicates
// are dropped.
func (e *Engine) EventsAfter(ctx context.Context, after, upTo event.ID, limit int) ([]*event.Event, bool, error) {
	e.mu.Lock()
	waiting, covered := e.box.pending(after, upTo)
	e.mu.Unlock()
	stored, storeCovered, err := e.store.EventsAfter(ctx, after, upTo, limit)
	if err != nil {
		// A store that cannot be read must not keep screens from
		// connecting: not covered means a reset and a snapshot from memory,
		// which is the current state, instead of an error and a retry loop.
		e.log.Debug("replay from the store failed; the client is reset", "err", err)
		return nil, false, nil
	}
	out := make([]*event.Event, 0, len(stored)+len(waiting))
	for _, s := range stored {
		out = append(out, &event.Event{ID: s.ID, Topic: s.Topic, Type: s.Type, Data: s.Data, At: s.At})
	}
	for _, w := range waiting {
		if n := len(out); n == 0 || w.ID > out[n-1].ID {
			out = append(out, w)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, covered && storeCovered, nil
}
