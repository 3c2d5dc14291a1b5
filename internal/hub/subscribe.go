package hub

import (
	"context"
	"fmt"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// Start is what a new subscriber must be sent, in this order, before the
// events of its live queue: a reset notice when its last id could not be
// resumed, the snapshot (state events, to be sent WITHOUT their own ids so
// the wire ids stay increasing), the replay of missed events (with their
// ids), and a checkpoint id.
type Start struct {
	// Resumed is true when the client's last id was honoured for every topic.
	Resumed bool
	// Reset lists the topics whose client-side state must be dropped;
	// Reason says why (for the client and the log).
	Reset  []event.Topic
	Reason string
	// Snapshot is the current state of the fresh or reset topics.
	Snapshot []*event.Event
	// Replay is every missed event, oldest first.
	Replay []*event.Event
	// Checkpoint, when not zero, is sent last as "id: <Checkpoint>" with no
	// data: it moves the client's last event id to the position its live
	// queue starts from, so the next resume neither repeats nor skips.
	Checkpoint event.ID
}

// Reasons given in a reset.
const (
	ReasonUnknownID = "last-event-id-unknown"
	ReasonTooOld    = "last-event-id-older-than-history"
)

// Subscribe registers a subscriber for topics and returns, computed
// atomically with the registration, what it must be sent before its live
// queue. lastID is the client's Last-Event-ID ("" for a fresh connection).
// client identifies the caller in logs and limits.
func (h *Hub) Subscribe(ctx context.Context, topics []event.Topic, client, lastID string) (*Subscriber, Start, error) {
	want := newTopicSet(topics)
	if want == 0 {
		return nil, Start{}, fmt.Errorf("hub: no valid topic in %v", topics)
	}
	s := &Subscriber{
		hub:    h,
		topics: want,
		client: client,
		ready:  make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	var (
		st       Start
		after    event.ID
		durable  topicSet
		durSnap  []*event.Event
		resetSet topicSet
	)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, Start{}, ErrClosed
	}
	h.subs[s] = struct{}{}
	for _, t := range want.list() {
		h.stats.open[topicIndex(t)].Add(1)
	}
	cut := h.last
	switch id, err := event.ParseID(lastID); {
	case lastID == "":
		st.Snapshot = h.state.snapshot(want)
	case err != nil || id > cut:
		resetSet, st.Reason = want, ReasonUnknownID
	default:
		after = id
		for _, t := range want.list() {
			switch {
			case h.hist.covers(id):
			case t.Durable() && h.opts.Durable != nil:
				durable |= topicBit(t)
			default:
				resetSet |= topicBit(t)
				st.Reason = ReasonTooOld
			}
		}
		st.Replay = h.hist.after(id, want&^durable&^resetSet)
		if durable != 0 {
			durSnap = h.state.snapshot(durable)
		}
	}
	if resetSet != 0 {
		st.Snapshot = h.state.snapshot(resetSet)
	}
	h.mu.Unlock()

	if durable != 0 {
		evs, covered, err := h.opts.Durable.EventsAfter(ctx, after, cut, h.opts.ReplayLimit+1)
		if err != nil {
			h.Unsubscribe(s)
			return nil, Start{}, fmt.Errorf("hub: replay from store: %w", err)
		}
		if !covered || len(evs) > h.opts.ReplayLimit {
			resetSet |= durable
			st.Reason = ReasonTooOld
			st.Snapshot = mergeByID(st.Snapshot, durSnap)
		} else {
			st.Replay = mergeByID(st.Replay, filterTopics(evs, durable))
		}
	}
	st.Reset = resetSet.list()
	st.Resumed = lastID != "" && resetSet == 0
	if len(st.Reset) > 0 {
		h.stats.resets.Add(1)
	}
	h.stats.replayed.Add(int64(len(st.Replay)))
	if cut != 0 && (len(st.Replay) == 0 || st.Replay[len(st.Replay)-1].ID < cut) && !(st.Resumed && after == cut) {
		st.Checkpoint = cut
	}
	return s, st, nil
}

func filterTopics(evs []*event.Event, want topicSet) []*event.Event {
	out := evs[:0]
	for _, e := range evs {
		if want.has(e.Topic) {
			out = append(out, e)
		}
	}
	return out
}

// mergeByID merges two id-ordered lists.
func mergeByID(a, b []*event.Event) []*event.Event {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]*event.Event, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i].ID <= b[j].ID {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
