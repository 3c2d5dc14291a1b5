package engine

import (
	"context"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// RecordIncident adds a line to the incident log that something beside the
// engine decided (the notifier's escalation of an unacknowledged alert), in
// the engine's one order of commits: like the rules' own lines, it waits in
// the outbox while the store is down rather than being lost.
func (e *Engine) RecordIncident(ctx context.Context, in crowd.Incident) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.newStep()
	s.incidents(in)
	return e.apply(ctx, s)
}
