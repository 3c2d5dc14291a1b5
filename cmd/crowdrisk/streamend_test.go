package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/auth"
)

// goodbye reads a stream to its end and returns its reconnect message.
func (s *stream) goodbye(t *testing.T, within time.Duration) (reason string, reauth bool, ended time.Time) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				return reason, reauth, time.Now()
			}
			var w struct {
				Type string
				Data struct {
					Reason string
					Reauth bool
				}
			}
			if json.Unmarshal([]byte(m.Data), &w) == nil && w.Type == "reconnect" {
				reason, reauth = w.Data.Reason, w.Data.Reauth
			}
		case <-deadline:
			t.Fatal("the stream did not end")
		}
	}
}

// TestStreamEndsWithItsTokenAndSession runs the engine with a secret: a
// stream ends at its token's expiry, and a sign-out ends the streams of
// that session; neither comes back with the same credential.
func TestStreamEndsWithItsTokenAndSession(t *testing.T) {
	secret := "edges-test-secret-edges-test-secret!"
	t.Setenv("CROWDRISK_JWT_SECRET", secret)
	p := start(t, freeAddr(t), t.TempDir(), "--simulate=false")
	url := p.base + "/api/crowd-risk/stream"

	tok, err := auth.Mint([]byte(secret), "screen-1", "viewer", 2*time.Second, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	_, exp, err := auth.NewVerifier([]byte(secret), nil).Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	s, code := streamWith(t, http.DefaultClient, getReq(t, url, "Authorization", "Bearer "+tok))
	if code != 200 {
		t.Fatalf("stream with a fresh token: %d", code)
	}
	reason, reauth, ended := s.goodbye(t, 10*time.Second)
	if reason != "token expired" || !reauth {
		t.Fatalf("goodbye %q reauth=%v", reason, reauth)
	}
	if late := ended.Sub(exp); late < -100*time.Millisecond || late > time.Second {
		t.Fatalf("stream ended %s after the token's expiry", late)
	}
	if _, code := streamWith(t, http.DefaultClient, getReq(t, url, "Authorization", "Bearer "+tok)); code != http.StatusUnauthorized {
		t.Fatalf("stream with the expired token: %d, want 401", code)
	}

	// Sign in as the dashboard does, open a stream with the cookie, sign out.
	tok, _ = auth.Mint([]byte(secret), "screen-2", "viewer", time.Hour, time.Now)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Post(p.base+"/api/auth/session", "application/json", strings.NewReader(`{"token":"`+tok+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	s, code = streamWith(t, browser, getReq(t, url))
	if code != 200 {
		t.Fatalf("stream with the session cookie: %d", code)
	}
	// Another token's stream is not this session's.
	other, _ := auth.Mint([]byte(secret), "screen-3", "viewer", time.Hour, time.Now)
	o, code := streamWith(t, http.DefaultClient, getReq(t, url, "Authorization", "Bearer "+other))
	if code != 200 {
		t.Fatalf("other stream: %d", code)
	}
	<-s.msgs // connected: the stream is in place before the sign-out
	<-o.msgs
	req, _ := http.NewRequestWithContext(context.Background(), "DELETE", p.base+"/api/auth/session", nil)
	resp, err = browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	if reason, reauth, _ := s.goodbye(t, 3*time.Second); reason != "signed out" || !reauth {
		t.Fatalf("goodbye %q reauth=%v", reason, reauth)
	}
	if _, code := streamWith(t, browser, getReq(t, url)); code != http.StatusUnauthorized {
		t.Fatalf("stream after sign-out: %d, want 401", code)
	}
	select {
	case m, ok := <-o.msgs:
		if !ok {
			t.Fatalf("another session's stream ended: %v", <-o.end)
		}
		if w := decodeMsg(t, m); w.Type == "reconnect" {
			t.Fatalf("another session's stream was told to go: %s", m.Data)
		}
	case <-time.After(1500 * time.Millisecond): // a heartbeat comment is not a message; quiet is fine
	}
}
