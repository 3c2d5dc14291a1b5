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
// out. It watches from before the stream's first bytes go out (a sign-out
// then cannot slip between the two); an end that comes before the stream is
// placed (in the pool or its own goroutine) waits for it. It is released
// when the stream ends, whatever ended it.
type lifetime struct {
	s       *Server
	session string
	expires time.Time

	mu      sync.Mutex
	stop    func(ending) // set when the stream is placed
	pending *ending      // an end that came before
	timer   *time.Timer
	done    bool
}

// watch registers the stream's session and arms its expiry.
func (l *lifetime) watch() {
	l.mu.Lock()
	defer l.mu.Unlock()
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
		l.timer = time.AfterFunc(l.expires.Sub(l.s.now()), func() { l.end(endExpired) })
	}
}

// place says how to end the stream, now that it is served; stop must be
// harmless on a stream that has already ended.
func (l *lifetime) place(stop func(ending)) {
	l.mu.Lock()
	if l.done {
		l.mu.Unlock()
		return
	}
	l.stop = stop
	pending := l.pending
	l.mu.Unlock()
	if pending != nil {
		stop(*pending)
	}
}

// end ends the stream, or has it ended once it is placed. It reports
// whether the stream was still open.
func (l *lifetime) end(why ending) bool {
	l.mu.Lock()
	if l.done {
		l.mu.Unlock()
		return false
	}
	stop := l.stop
	if stop == nil {
		l.pending = &why
	}
	l.mu.Unlock()
	if stop != nil {
		stop(why)
	}
	return true
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
	if l.session != "" {
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
	// Lock order is lifetime, then server (watch, release): collect first.
	s.mu.Lock()
	ls := make([]*lifetime, 0, len(s.sessions[session]))
	for l := range s.sessions[session] {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	n := 0
	for _, l := range ls {
		l.mu.Lock()
		open := !l.done
		l.mu.Unlock()
		if open {
			// Each goodbye may wait up to a second on a full socket:
			// the sign-out answers without waiting for them.
			go l.end(endSignedOut)
			n++
		}
	}
	return n
}
