package mqtt

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// MaxDeadLetterPayload caps the original payload a dead letter carries:
// enough to see what a sensor sent, not a copy of a 10 MB message.
const MaxDeadLetterPayload = 64 << 10

// DeadLetter is what the dead-letter topic receives for a refused message.
type DeadLetter struct {
	Topic string       `json:"topic"`
	Error *crowd.Error `json:"error"`
	// Payload is the message as text (invalid UTF-8 shows as U+FFFD), cut
	// at MaxDeadLetterPayload bytes; PayloadBytes is its full size.
	Payload      string `json:"payload"`
	PayloadBytes int    `json:"payloadBytes"`
	Truncated    bool   `json:"truncated,omitempty"`
	ReceivedAt   int64  `json:"receivedAt"`
}

func deadLetter(m *message) []byte {
	var ce *crowd.Error
	if !errors.As(m.err, &ce) {
		ce = &crowd.Error{Code: crowd.ErrInternal, Message: m.err.Error()}
	}
	p := m.msg.Payload()
	d := DeadLetter{Topic: m.msg.Topic(), Error: ce, PayloadBytes: len(p), ReceivedAt: m.received.UnixMilli()}
	if len(p) > MaxDeadLetterPayload {
		p, d.Truncated = p[:MaxDeadLetterPayload], true
	}
	d.Payload = string(p)
	b, err := json.Marshal(d)
	if err != nil { // cannot happen: strings and numbers only
		panic(err)
	}
	return b
}

// logLimiter lets one log line through per source and period, and counts
// the rest: a sensor gone wrong must not flood the log (its messages are
// all counted and dead-lettered anyway). Used by the ingest goroutine only.
type logLimiter struct {
	every      time.Duration
	last       map[string]time.Time
	suppressed map[string]int
}

// maxLogSources bounds the limiter's memory when every bad message claims
// another sensor: beyond it, sources not logged within the period are
// forgotten.
const maxLogSources = 10000

func newLogLimiter(every time.Duration) *logLimiter {
	return &logLimiter{every: every, last: map[string]time.Time{}, suppressed: map[string]int{}}
}

// allow reports whether source may log now, and how many of its lines were
// suppressed since its last one.
func (l *logLimiter) allow(source string, now time.Time) (bool, int) {
	if t, ok := l.last[source]; ok && now.Sub(t) < l.every {
		l.suppressed[source]++
		return false, 0
	}
	if len(l.last) >= maxLogSources {
		for k, t := range l.last {
			if now.Sub(t) >= l.every {
				delete(l.last, k)
				delete(l.suppressed, k)
			}
		}
		if len(l.last) >= maxLogSources {
			// Every source logged within the period: one shared budget.
			source = "(many sources)"
			if t, ok := l.last[source]; ok && now.Sub(t) < l.every {
				l.suppressed[source]++
				return false, 0
			}
		}
	}
	n := l.suppressed[source]
	l.last[source] = now
	delete(l.suppressed, source)
	return true, n
}
