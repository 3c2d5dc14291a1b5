package chaos

import (
	"github.com/crowdrisk/crowdrisk/internal/event"
)

// epoch is a stretch of one subscriber's life between two starts of its
// alert state (a fresh connection or a reset of the alerts topic), across
// any number of resumed connections. Inside it every committed alert
// change with an id in (cut, end] must arrive exactly once and in order;
// what falls between two epochs is covered by the reset's snapshot.
type epoch struct {
	cut     event.ID // where its live events start (the checkpoint)
	end     event.ID // the subscriber's position when it ended
	pending bool     // cut not known yet
	approx  bool     // no checkpoint: cut taken from the replay before the first alert
	got     map[event.ID]int
}

func alertTopic(typ string) bool { return typ == "alert" || typ == "emergency" }

func parseID(s string) event.ID {
	id, _ := event.ParseID(s)
	return id
}

func checkDelivery(s *subscriber, st *storeState, byID map[event.ID]storedEvent, v *verdict) {
	var (
		epochs     []*epoch
		cur        *epoch
		pos        event.ID // last id of the current epoch (events and checkpoints)
		preMax     event.ID // highest id seen on this connection while cut is pending
		conn       = -1
		sent       event.ID
		wantReset  bool // a reconnect was answered resumed=false: a reset must follow
		w          = newView()
		incomplete bool
		reported   = map[string]bool{}
	)
	begin := func() {
		if cur != nil {
			closeEpoch(cur, sent, pos)
		}
		cur = &epoch{pending: true, got: map[event.ID]int{}}
		epochs = append(epochs, cur)
		w, incomplete, preMax, pos = newView(), false, 0, 0
	}
	var unstored []int // records of alert changes the store does not hold
	lastReset := -1    // index of the last reset of the alerts topic
	for idx, r := range s.recs {
		if r.Kind == "reset" && contains(r.Topics, "alerts") {
			lastReset = idx
		}
		if r.Conn != conn {
			// A connection that ended before its reset could come owes none.
			conn, preMax, wantReset = r.Conn, 0, false
		}
		if wantReset && r.Kind != "reset" && r.Kind != "end" {
			v.add(vNoReset, "%s conn %d on %s: Last-Event-ID %s answered resumed=false with no reset",
				s.name, r.Conn, r.Instance, sent)
			wantReset = false
		}
		switch r.Kind {
		case "connected":
			sent = parseID(r.LastID)
			if r.LastID == "" {
				begin()
			} else if !r.Resumed {
				wantReset = true
			}
		case "reset":
			wantReset = false
			if contains(r.Topics, "alerts") {
				begin()
			}
		case "checkpoint":
			if cur != nil && cur.pending {
				cur.cut, cur.pending = parseID(r.ID), false
				// The snapshot a fresh or reset stream starts from is the
				// state at its checkpoint: it must be the store's.
				if first, n := w.diff(foldStore(st.Events, cur.cut)); n > 0 && !incomplete {
					v.add(vSnapshot, "%s conn %d on %s: snapshot at %s has %d differences with the store's log; first: %s",
						s.name, r.Conn, r.Instance, cur.cut, n, first)
				}
			}
			pos = parseID(r.ID)
		case "snapshot":
			w.apply(r.Type, r.Data)
		case "limit":
			incomplete = true
		case "event":
			if cur == nil {
				continue
			}
			id := parseID(r.ID)
			if cur.pending {
				if alertTopic(r.Type) {
					cur.cut, cur.pending, cur.approx = preMax, false, true
				} else if id > preMax {
					preMax = id
				}
			}
			// An alert change seen twice is counted (and reported) below.
			if id <= pos && !cur.pending && !(id == pos && alertTopic(r.Type)) {
				kind := vOrder
				if id == pos {
					kind = vDuplicate
				}
				v.add(kind, "%s conn %d on %s: %s %s after %s with no reset between", s.name, r.Conn, r.Instance, r.Type, id, pos)
			}
			if id > pos {
				pos = id
			}
			if alertTopic(r.Type) {
				cur.got[id]++
				w.apply(r.Type, r.Data)
				e, ok := byID[id]
				if !ok {
					if !reported[r.ID] {
						unstored = append(unstored, idx)
						reported[r.ID] = true
					}
				} else if !sameJSON(e.Data, r.Data) || e.Type != r.Type {
					v.add(vConflict, "id %s: %s got %s, the store holds %s", id, s.name, summary(r.Type, r.Data), summary(e.Type, e.Data))
				}
			}
			v.Stats["deliveries checked"]++
		}
	}
	// The engine may show an alert change live while its store fails
	// (safety first); if a crash then loses it, the screen must be told by
	// a reset. Unstored and never followed by one is a violation.
	for _, i := range unstored {
		if i < lastReset {
			v.Stats["unstored deliveries reset later"]++
			continue
		}
		r := s.recs[i]
		v.add(vNotStored, "%s got %s id %s (%s) on %s; the store has no event with that id and no reset followed",
			s.name, r.Type, r.ID, summary(r.Type, r.Data), r.Instance)
	}
	if cur == nil {
		return
	}
	closeEpoch(cur, pos, pos)
	for _, ep := range epochs {
		if ep.approx {
			v.Stats["epochs without checkpoint"]++
		}
		for _, e := range st.Events {
			if e.ID <= ep.cut || e.ID > ep.end {
				continue
			}
			switch n := ep.got[e.ID]; {
			case n == 0:
				v.add(vMissed, "%s never got %s (id %s) though it held the stream from %s to %s with no reset",
					s.name, summary(e.Type, e.Data), e.ID, ep.cut, ep.end)
			case n > 1:
				v.add(vDuplicate, "%s got %s (id %s) %d times", s.name, summary(e.Type, e.Data), e.ID, n)
			}
			v.Stats["expected deliveries"]++
		}
	}
	if incomplete {
		v.Stats["views not compared (snapshot-limit)"]++
		return
	}
	if first, n := w.diff(foldStore(st.Events, pos)); n > 0 {
		v.add(vStale, "%s at %s: %d differences with the store's log at that id; first: %s", s.name, pos, n, first)
	}
}

// closeEpoch ends an epoch at the position the subscriber resumed from
// when the next one began (or its last position).
func closeEpoch(ep *epoch, sent, pos event.ID) {
	ep.end = sent
	if sent == 0 {
		ep.end = pos
	}
	if ep.pending {
		ep.cut, ep.pending, ep.approx = ep.end, false, true
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
