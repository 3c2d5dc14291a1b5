package sse

import "sync"

// limiter caps concurrent streams overall and per client. Streams are long
// lived, so this counts connections, not requests (the API's rate limit does
// that).
type limiter struct {
	mu        sync.Mutex
	total     int
	perClient map[string]int
	maxTotal  int // 0: no cap
	maxClient int // 0: no cap
}

type limitVerdict int

const (
	limitOK limitVerdict = iota
	limitTotal
	limitClient
)

func (l *limiter) acquire(client string) limitVerdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxTotal > 0 && l.total >= l.maxTotal {
		return limitTotal
	}
	if l.maxClient > 0 && l.perClient[client] >= l.maxClient {
		return limitClient
	}
	l.total++
	l.perClient[client]++
	return limitOK
}

func (l *limiter) release(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perClient[client]--; l.perClient[client] <= 0 {
		delete(l.perClient, client)
	}
}
