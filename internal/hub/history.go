package hub

import (
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// history is the in-memory replay buffer: the newest events of every topic,
// bounded by count and by age. It is a ring so that appending and evicting
// never copy the whole buffer.
type history struct {
	buf   []*event.Event
	head  int // index of the oldest event
	n     int
	limit int
	age   time.Duration
	// floor is the highest id that is NOT in the buffer: events <= floor were
	// evicted, or were published before this process started.
	floor event.ID
}

func newHistory(limit int, age time.Duration, floor event.ID) *history {
	if limit < 1 {
		limit = 1
	}
	return &history{buf: make([]*event.Event, limit), limit: limit, age: age, floor: floor}
}

func (h *history) add(e *event.Event, now time.Time) {
	if h.n == h.limit {
		h.evictOldest()
	}
	h.buf[(h.head+h.n)%h.limit] = e
	h.n++
	h.expire(now)
}

// expire drops events older than the age bound.
func (h *history) expire(now time.Time) {
	if h.age <= 0 {
		return
	}
	cutoff := now.Add(-h.age)
	for h.n > 0 && h.buf[h.head].At.Before(cutoff) {
		h.evictOldest()
	}
}

func (h *history) evictOldest() {
	e := h.buf[h.head]
	h.buf[h.head] = nil
	h.head = (h.head + 1) % h.limit
	h.n--
	if e.ID > h.floor {
		h.floor = e.ID
	}
}

// covers reports whether every event after id is still in the buffer.
func (h *history) covers(id event.ID) bool { return id >= h.floor }

// after returns the buffered events with id > after whose topic is in want,
// oldest first.
func (h *history) after(after event.ID, want topicSet) []*event.Event {
	// Binary search for the first event > after: ids are increasing.
	lo, hi := 0, h.n
	for lo < hi {
		mid := (lo + hi) / 2
		if h.buf[(h.head+mid)%h.limit].ID <= after {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	var out []*event.Event
	for i := lo; i < h.n; i++ {
		e := h.buf[(h.head+i)%h.limit]
		if want.has(e.Topic) {
			out = append(out, e)
		}
	}
	return out
}

func (h *history) len() int { return h.n }
