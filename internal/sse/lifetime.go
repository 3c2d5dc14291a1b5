package sse

import (
	"sync"
	"time"
)

// ending is why the server ends a stream; the client is told in its
// goodbye. The zero value is the shutdown.
type ending struct {
	reason string
	// reauth: the stream's credentials ended; the client should check
	// them (sign in again) before it comes back with its last id.
	reauth bool
}

var (
	endExpired   = ending{reason: "token expired", reauth: true}
	endSignedOut = ending{reason: "signed out", reauth: true}
)

func (e ending) why() string {
	if e.reason == "" {
		return "server shutting down"
	}
	return e.reason
}

// lifetime ends one stream when its token expires or its session signs
// out. It is armed once the stream is placed (in the pool or its own
// handler) and released when the stream ends, whichever comes first: a
// release before the arming leaves nothing behind.
type lifetime struct {
	s       *Server
	session string
	expires time.Time

	mu    sync.Mutex
	stop  func(ending)
	timer *time.Timer
	done  bool
}

// arm starts watching; stop ends the stream and must be harmless on a
// stream that has already ended.
func (l *lifetime) arm(stop func(ending)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	l.stop = stop
	if l.session != "" {
		l.s.mu.Lock()
		set := l.s.sessions[l.session]
		if set == nil {
			set = map[*lifetime]struct{}{}
			l.s.sessions[l.session] = set
		}
		set[l] = struct{}{}
		l.s.mu.Unlock()
	}
	if !l.expires.IsZero() {
		l.timer = time.AfterFunc(l.expires.Sub(l.s.now()), func() { stop(endExpired) })
	}
}

func (l *lifetime) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	l.done = true
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.session != "" && l.stop != nil {
		l.s.mu.Lock()
		if set := l.s.sessions[l.session]; set != nil {
			delete(set, l)
			if len(set) == 0 {
				delete(l.s.sessions, l.session)
			}
		}
		l.s.mu.Unlock()
	}
}

// EndSession ends every open stream of a session (auth.SessionID), telling
// each client why; the API calls it on sign-out. It returns how many.
func (s *Server) EndSession(session string) int {
	// Lock order is lifetime, then server (arm, release): collect first.
	s.mu.Lock()
	ls := make([]*lifetime, 0, len(s.sessions[session]))
	for l := range s.sessions[session] {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	n := 0
	for _, l := range ls {
		l.mu.Lock()
		stop, done := l.stop, l.done
		l.mu.Unlock()
		if !done && stop != nil {
			// Each goodbye may wait up to a second on a full socket:
			// the sign-out answers without waiting for them.
			go stop(endSignedOut)
			n++
		}
	}
	return n
}
