package cluster

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
)

// view is what a follower knows of the live state from the followed
// events: each zone's latest judged reading and recent history, and the
// emergency mode. It serves the read endpoints without asking the leader.
type view struct {
	venue  crowd.Venue
	window time.Duration

	mu        sync.Mutex
	pos       event.ID // newest event applied
	moved     chan struct{}
	latest    map[string]crowd.DensityReading
	history   map[string]*crowd.History
	emergency *crowd.EmergencyMode
}

func newView(v crowd.Venue, window time.Duration, start event.ID) *view {
	w := &view{venue: v, window: window, pos: start, moved: make(chan struct{}),
		latest: map[string]crowd.DensityReading{}, history: map[string]*crowd.History{}}
	for _, z := range v.Zones {
		w.history[z.ID] = crowd.NewHistory(window)
	}
	return w
}

func (w *view) setEmergency(m *crowd.EmergencyMode) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.emergency = m
}

// apply takes followed events in order.
func (w *view) apply(evs []*event.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range evs {
		if e.ID <= w.pos {
			continue
		}
		w.pos = e.ID
		switch e.Type {
		case event.TypeDensity:
			var m struct{ Data crowd.DensityReading }
			if json.Unmarshal(e.Data, &m) == nil && w.history[m.Data.ZoneID] != nil {
				w.latest[m.Data.ZoneID] = m.Data
				w.history[m.Data.ZoneID].Add(m.Data)
			}
		case event.TypeEmergency:
			var m struct{ Data *crowd.EmergencyMode }
			if json.Unmarshal(e.Data, &m) == nil {
				w.emergency = m.Data
			}
		}
	}
	close(w.moved)
	w.moved = make(chan struct{})
}

func (w *view) position() event.ID {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pos
}

// waitFor waits until the view has applied id (or timeout passes).
func (w *view) waitFor(ctx context.Context, id event.ID, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		w.mu.Lock()
		done, moved := w.pos >= id, w.moved
		w.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return false
		case <-t.C:
			return false
		}
	}
}

func (w *view) Latest() []crowd.DensityReading {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := []crowd.DensityReading{}
	for _, z := range w.venue.Zones {
		if r, ok := w.latest[z.ID]; ok {
			out = append(out, r)
		}
	}
	return out
}

func (w *view) History(zoneID string, window time.Duration) ([]crowd.DensityReading, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.history[zoneID]
	if h == nil {
		return nil, &crowd.Error{Code: crowd.ErrNotFound, Field: "zoneId", Message: "unknown zone \"" + zoneID + "\""}
	}
	return h.Since(window), nil
}

func (w *view) Emergency() *crowd.EmergencyMode {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.emergency == nil {
		return nil
	}
	c := *w.emergency
	c.ZoneIDs = append([]string(nil), w.emergency.ZoneIDs...)
	return &c
}
