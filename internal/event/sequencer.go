package event

import (
	"sync"
	"time"
)

// Sequencer hands out strictly increasing IDs derived from the clock. Seeded
// with the highest id ever persisted, it never repeats an id after a restart,
// even if the clock stepped back.
type Sequencer struct {
	mu   sync.Mutex
	last ID
	now  func() time.Time
}

// NewSequencer starts after last (the newest id the store holds).
func NewSequencer(last ID, now func() time.Time) *Sequencer {
	if now == nil {
		now = time.Now
	}
	return &Sequencer{last: last, now: now}
}

// Next returns a new id greater than every id returned before.
func (s *Sequencer) Next() ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.now().UnixMilli()
	switch {
	case ms > s.last.Ms():
		s.last = NewID(ms, 0)
	case s.last.Seq() < MaxSeq:
		s.last = NewID(s.last.Ms(), s.last.Seq()+1)
	default:
		s.last = NewID(s.last.Ms()+1, 0)
	}
	return s.last
}

// Last is the most recent id handed out (or the seed).
func (s *Sequencer) Last() ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}
