package cluster

import (
	"context"
	"encoding/json"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/redisbus"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// StateEvents describes the alert state in the shared store (open alerts
// and emergency mode) as snapshot events for a hub's Seed, the follower's
// counterpart of engine.StateEvents.
func StateEvents(ctx context.Context, s store.Store) ([]*event.Event, error) {
	open, err := s.Alerts(ctx, store.AlertFilter{Open: true, Limit: 100000})
	if err != nil {
		return nil, err
	}
	em, err := s.Emergency(ctx)
	if err != nil {
		return nil, err
	}
	var out []*event.Event
	for i := len(open) - 1; i >= 0; i-- { // oldest first
		a := open[i]
		out = append(out, &event.Event{Topic: event.TopicAlerts, Type: event.TypeAlert,
			StateKey: "alert:" + a.ID, Data: message(event.TypeAlert, a)})
	}
	return append(out, &event.Event{Topic: event.TopicAlerts, Type: event.TypeEmergency,
		StateKey: "emergency", Data: message(event.TypeEmergency, em)}), nil
}

func message(typ string, data any) []byte {
	b, _ := json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{typ, data})
	return b
}

// StartPosition chooses where a starting instance follows the stream from
// (and so its hub's floor): far enough back to fill the in-memory history
// with what the stream still holds (so clients of other instances resume
// here from memory), never before the stream's oldest entry, and never
// below what the store holds when the stream lost entries (a Redis restart
// without persistence). With Redis unreachable it starts from now, like a
// single instance.
func StartPosition(ctx context.Context, events *redisbus.Log, storeLast event.ID, now time.Time, historyAge time.Duration) event.ID {
	nowID := event.NewID(now.UnixMilli(), 0)
	first, last, err := events.Bounds(ctx)
	if err != nil || last == 0 {
		return max(storeLast, nowID)
	}
	start := max(first-1, event.NewID(now.Add(-historyAge).UnixMilli(), 0))
	if last < storeLast {
		start = max(start, storeLast)
	}
	return min(start, max(last, storeLast))
}
