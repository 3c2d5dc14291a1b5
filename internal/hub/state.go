package hub

import (
	"cmp"
	"encoding/json"
	"slices"
	"sort"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// MaxSnapshotAlerts bounds the open alerts a new stream's snapshot carries,
// so that whatever piled up (thousands of drills, a venue file with a broken
// sensor in every zone) a screen still connects in one small message. Beyond
// it the snapshot keeps the most severe, newest first, and ends with a
// snapshot-limit event saying how many it left out: the whole list is
// GET /api/crowd-risk/alerts?status=open.
const MaxSnapshotAlerts = 1000

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
	out, omitted := capAlerts(out, MaxSnapshotAlerts)
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].StateKey < out[j].StateKey
	})
	if omitted > 0 {
		out = append(out, snapshotLimit(omitted, MaxSnapshotAlerts))
	}
	return out
}

// capAlerts keeps at most limit alert events of evs, the most severe and
// newest, and every other event; it returns how many it left out.
func capAlerts(evs []*event.Event, limit int) ([]*event.Event, int) {
	var alerts, rest []*event.Event
	for _, e := range evs {
		if e.Type == event.TypeAlert {
			alerts = append(alerts, e)
		} else {
			rest = append(rest, e)
		}
	}
	if len(alerts) <= limit {
		return evs, 0
	}
	slices.SortFunc(alerts, func(a, b *event.Event) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(b.ID, a.ID))
	})
	return append(rest, alerts[:limit]...), len(alerts) - limit
}

func snapshotLimit(omitted, kept int) *event.Event {
	type limit struct {
		Omitted int    `json:"omitted"`
		Kept    int    `json:"kept"`
		Rest    string `json:"rest"`
	}
	data, _ := json.Marshal(struct {
		Type string `json:"type"`
		Data limit  `json:"data"`
	}{event.TypeSnapshotLimit, limit{omitted, kept, "/api/crowd-risk/alerts?status=open"}})
	return &event.Event{Topic: event.TopicAlerts, Type: event.TypeSnapshotLimit, Data: data}
}
