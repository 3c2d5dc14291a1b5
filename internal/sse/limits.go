package sse

import "sync"

// Limiter caps concurrent streams overall and per client. Streams are long
// lived, so this counts connections, not requests (the API's rate limit does
// that). The WebSocket server (internal/ws) uses it too.
type Limiter struct {
	mu        sync.Mutex
	total     int
	perClient map[string]int
	maxTotal  int // 0: no cap
	maxClient int // 0: no cap
}

// LimitVerdict says whether a stream may open, and if not which cap it hit.
type LimitVerdict int

const (
	LimitOK LimitVerdict = iota
	LimitTotal
	LimitClient
)

// NewLimiter caps streams at maxTotal overall and maxClient per client (0: no cap).
func NewLimiter(maxTotal, maxClient int) *Limiter {
	return &Limiter{perClient: map[string]int{}, maxTotal: maxTotal, maxClient: maxClient}
}

// Acquire takes a slot for client, or says which cap refused it.
func (l *Limiter) Acquire(client string) LimitVerdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxTotal > 0 && l.total >= l.maxTotal {
		return LimitTotal
	}
	if l.maxClient > 0 && l.perClient[client] >= l.maxClient {
		return LimitClient
	}
	l.total++
	l.perClient[client]++
	return LimitOK
}

// Release gives back a slot Acquire took.
func (l *Limiter) Release(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perClient[client]--; l.perClient[client] <= 0 {
		delete(l.perClient, client)
	}
}
