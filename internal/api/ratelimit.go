package api

import (
	"container/list"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/auth"
	"golang.org/x/time/rate"
)

// limiters holds one token bucket per client in a bounded LRU table: a
// client is a token subject or, without a token, a remote address, and an
// attacker cycling addresses only evicts the least recently seen buckets.
type limiters struct {
	every rate.Limit
	burst int
	max   int

	mu    sync.Mutex
	byKey map[string]*list.Element // of *bucket
	lru   list.List                // front: most recently used
}

type bucket struct {
	key string
	lim *rate.Limiter
}

func newLimiters(perSecond float64, burst, maxClients int) *limiters {
	return &limiters{every: rate.Limit(perSecond), burst: burst, max: maxClients, byKey: map[string]*list.Element{}}
}

// allow takes one token for key at now. When none is left it takes nothing
// and says how long until one is.
func (l *limiters) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	el, ok := l.byKey[key]
	if ok {
		l.lru.MoveToFront(el)
	} else {
		el = l.lru.PushFront(&bucket{key: key, lim: rate.NewLimiter(l.every, l.burst)})
		l.byKey[key] = el
		for l.lru.Len() > l.max {
			old := l.lru.Back()
			l.lru.Remove(old)
			delete(l.byKey, old.Value.(*bucket).key)
		}
	}
	lim := el.Value.(*bucket).lim
	l.mu.Unlock()

	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// size is the number of clients remembered.
func (l *limiters) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// clientKey names the caller for rate limiting: the token subject when a
// token proved it, the remote address otherwise (the loopback demo's
// implicit "local" admin is everyone, so it is keyed by address too).
func clientKey(r *http.Request, p auth.Principal, verified bool) string {
	if verified {
		return "sub:" + p.Subject
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host
}

// retryAfter renders a wait as whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
