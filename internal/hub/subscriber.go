package hub

import (
	"errors"
	"sync"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// ErrSlow ends a subscriber that let more unconflatable events (alerts,
// emergency changes) pile up than its queue allows. Dropping one of them
// silently would be the worst bug this product can have, so the subscriber
// is disconnected instead; the client resumes from its last id and gets
// every one of them from the history.
var ErrSlow = errors.New("hub: subscriber too slow: queue limit reached, disconnected to resume from its last id")

// ErrClosed ends every subscriber when the hub shuts down.
var ErrClosed = errors.New("hub: shut down")

// Subscriber is one stream's view of the hub: a bounded queue of pending
// events filled by Publish and drained by the stream's writer.
//
// The queue never blocks the publisher. Conflatable events (density, keyed
// by zone) replace the pending event of the same key, so a slow screen holds
// at most one pending reading per zone; other events count against the limit.
type Subscriber struct {
	hub    *Hub
	topics topicSet
	client string

	mu      sync.Mutex
	pending []*event.Event // nil entries are events conflated away
	// keyIdx maps a conflation key to its index in pending, built only
	// once pending is long: a subscriber that keeps up holds one or two
	// events, and scanning those is far cheaper than a map per subscriber
	// (which was a fifth of the fan-out's CPU).
	keyIdx    map[string]int
	holes     int   // nil entries in pending
	strict    int   // unconflatable events in pending
	beat      bool  // a heartbeat is due
	err       error // set once when the subscriber ends
	signaled  bool  // ready holds a token
	conflated int64 // density events replaced while this subscriber lagged

	ready  chan struct{}
	notify func() // set by SetNotify: called instead of signalling ready
	done   chan struct{}
}

// Topics returns the subscribed topics.
func (s *Subscriber) Topics() []event.Topic { return s.topics.list() }

// Client is the identity the subscriber was opened for (for limits and logs).
func (s *Subscriber) Client() string { return s.client }

// Ready is signalled when there is something to take.
func (s *Subscriber) Ready() <-chan struct{} { return s.ready }

// SetNotify replaces the Ready channel with a callback, for writers that
// serve many subscribers from a pool instead of a goroutine each. f is
// called (with no subscriber lock held, possibly with the hub's) each time
// the subscriber goes from nothing pending to something pending; it must not
// block. If something is pending already, f is called at once.
func (s *Subscriber) SetNotify(f func()) {
	s.mu.Lock()
	s.notify = f
	pending := s.signaled
	s.mu.Unlock()
	if pending {
		f()
	}
}

// Done is closed when the hub ends the subscriber (slow, or shutdown); Err says why.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Err is why the subscriber ended, or nil while it is live.
func (s *Subscriber) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Batch is what a writer takes from the queue in one go.
type Batch struct {
	Events    []*event.Event
	Heartbeat bool
}

// Take moves everything pending into b (reusing its slices) and reports
// whether the subscriber is still live. A writer calls it after Ready fires.
func (s *Subscriber) Take(b *Batch) bool {
	b.Events = b.Events[:0]
	s.mu.Lock()
	for _, e := range s.pending {
		if e != nil {
			b.Events = append(b.Events, e)
		}
	}
	clear(s.pending)
	s.pending = s.pending[:0]
	s.keyIdx = nil // back to scanning: a caught-up queue is short
	s.holes, s.strict = 0, 0
	b.Heartbeat, s.beat = s.beat, false
	s.signaled = false
	live := s.err == nil
	s.mu.Unlock()
	return live
}

// push queues one event. It is called by Publish with the hub lock held and
// must stay cheap: it runs once per subscriber per event.
//
// It does not wake the writer: Publish wakes each subscriber once after the
// whole batch is queued, so a batch of readings goes out in one write.
func (s *Subscriber) push(e *event.Event, limit int) (conflated, kicked, wake bool) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return false, false, false
	}
	if e.Key != "" {
		if i := s.pendingIndex(e.Key); i >= 0 {
			s.pending[i] = nil
			s.holes++
			s.conflated++
			conflated = true
		}
		if s.keyIdx != nil {
			s.keyIdx[e.Key] = len(s.pending)
		}
	} else {
		s.strict++
		if s.strict > limit {
			s.endLocked(ErrSlow)
			s.mu.Unlock()
			return false, true, false
		}
	}
	s.pending = append(s.pending, e)
	if s.keyIdx == nil && len(s.pending) > keyIdxAfter {
		s.indexLocked()
	}
	if s.holes > 64 && s.holes > len(s.pending)/2 {
		s.compactLocked()
	}
	wake = !s.signaled
	s.signaled = true
	s.mu.Unlock()
	return conflated, false, wake
}

// wake tells the writer there is something to take. Called once per
// subscriber per published batch, after push reported the transition.
func (s *Subscriber) wake() {
	s.mu.Lock()
	f := s.notify
	s.mu.Unlock()
	if f != nil {
		f()
		return
	}
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

func (s *Subscriber) conflatedCount() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conflated
}

// heartbeat marks a heartbeat due.
func (s *Subscriber) heartbeat() {
	s.mu.Lock()
	wake := false
	if s.err == nil {
		s.beat = true
		wake = !s.signaled
		s.signaled = true
	}
	s.mu.Unlock()
	if wake {
		s.wake()
	}
}

// keyIdxAfter is the queue length from which conflation keys are indexed.
const keyIdxAfter = 32

// pendingIndex finds the pending event with conflation key k, or -1.
func (s *Subscriber) pendingIndex(k string) int {
	if s.keyIdx != nil {
		if i, ok := s.keyIdx[k]; ok {
			return i
		}
		return -1
	}
	for i := len(s.pending) - 1; i >= 0; i-- {
		if e := s.pending[i]; e != nil && e.Key == k {
			return i
		}
	}
	return -1
}

// indexLocked builds keyIdx for a queue that has grown long.
func (s *Subscriber) indexLocked() {
	s.keyIdx = make(map[string]int, len(s.pending))
	for i, e := range s.pending {
		if e != nil && e.Key != "" {
			s.keyIdx[e.Key] = i
		}
	}
}

// compactLocked squeezes out conflated holes so a subscriber that is slow for
// a long time does not grow its queue by one hole per reading.
func (s *Subscriber) compactLocked() {
	j := 0
	for _, e := range s.pending {
		if e == nil {
			continue
		}
		s.pending[j] = e
		if e.Key != "" && s.keyIdx != nil {
			s.keyIdx[e.Key] = j
		}
		j++
	}
	clear(s.pending[j:])
	s.pending = s.pending[:j]
	s.holes = 0
}

// end marks the subscriber finished (idempotent).
func (s *Subscriber) end(err error) {
	s.mu.Lock()
	s.endLocked(err)
	s.mu.Unlock()
}

func (s *Subscriber) endLocked(err error) {
	if s.err != nil {
		return
	}
	s.err = err
	clear(s.pending)
	s.pending = nil
	close(s.done)
}
