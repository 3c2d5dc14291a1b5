package ws

import (
	"time"
)

// ending is why the server ends a connection before its client does; the
// client is told in a reconnect message. The zero value is the shutdown.
type ending struct {
	reason string
	reauth bool // the credentials ended: sign in again, then resume
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

// lifetime ends one connection when its token expires or its session signs
// out. Each connection has its own goroutine, so ending it is a message on a
// channel that goroutine selects on.
type lifetime struct {
	s       *Server
	session string
	end     chan ending // buffered 1: the first reason wins
	timer   *time.Timer
}

func (s *Server) watch(session string, expires time.Time) *lifetime {
	l := &lifetime{s: s, session: session, end: make(chan ending, 1)}
	if session != "" {
		s.mu.Lock()
		set := s.sessions[session]
		if set == nil {
			set = map[*lifetime]struct{}{}
			s.sessions[session] = set
		}
		set[l] = struct{}{}
		s.mu.Unlock()
	}
	if !expires.IsZero() {
		l.timer = time.AfterFunc(expires.Sub(s.now()), func() { l.stop(endExpired) })
	}
	return l
}

func (l *lifetime) stop(why ending) {
	select {
	case l.end <- why:
	default:
	}
}

func (l *lifetime) release() {
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.session == "" {
		return
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if set := l.s.sessions[l.session]; set != nil {
		delete(set, l)
		if len(set) == 0 {
			delete(l.s.sessions, l.session)
		}
	}
}

// EndSession ends every open connection of a session (auth.SessionID),
// telling each client to sign in again; the API calls it on sign-out. It
// returns how many.
func (s *Server) EndSession(session string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.sessions[session] {
		l.stop(endSignedOut)
	}
	return len(s.sessions[session])
}
