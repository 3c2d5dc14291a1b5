package api

import (
	"net/http"
	"sync"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/auth"
)

// Signing out names the session whose streams must end, whether the token
// came as the cookie or as a Bearer header; with no token there is none.
func TestSignOutEndsTheSession(t *testing.T) {
	var mu sync.Mutex
	var ended []string
	e := start(t, true, func(o *Options) {
		o.SignedOut = func(s string) { mu.Lock(); ended = append(ended, s); mu.Unlock() }
	})
	tok := e.token("viewer")
	if r := e.do("DELETE", "/api/auth/session", "", "Cookie", auth.SessionCookie+"="+tok); r.status != http.StatusNoContent {
		t.Fatalf("sign out with the cookie: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/auth/session", "", "Authorization", "Bearer "+tok); r.status != http.StatusNoContent {
		t.Fatalf("sign out with a header: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/auth/session", ""); r.status != http.StatusNoContent {
		t.Fatalf("sign out without a token: %d %s", r.status, r.body)
	}
	mu.Lock()
	defer mu.Unlock()
	want := auth.SessionID(tok)
	if len(ended) != 2 || ended[0] != want || ended[1] != want {
		t.Fatalf("sessions ended %v, want %s twice", ended, want)
	}
}
