package hub

import (
	"sort"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// state is the newest event per state key: what a subscriber needs to draw
// the current picture (every zone's latest reading, every open alert, the
// emergency mode) without waiting for the next change.
type state struct {
	byKey map[string]*event.Event
}

func newState() *state { return &state{byKey: map[string]*event.Event{}} }

func (s *state) apply(e *event.Event) {
	if e.StateKey == "" {
		return
	}
	if e.StateDrop {
		delete(s.byKey, e.StateKey)
		return
	}
	s.byKey[e.StateKey] = e
}

// snapshot returns the state events of the wanted topics, oldest first, so
// that applying them in order reproduces the current state.
func (s *state) snapshot(want topicSet) []*event.Event {
	out := make([]*event.Event, 0, len(s.byKey))
	for _, e := range s.byKey {
		if want.has(e.Topic) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].StateKey < out[j].StateKey
	})
	return out
}
