package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/auth"
)

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	e := start(t, true, nil)
	viewer := "Bearer " + e.token("viewer")
	for _, c := range []struct{ method, path, auth string }{
		{"GET", Prefix + "/zones", viewer},
		{"GET", Prefix + "/zones", ""},           // 401
		{"GET", Prefix + "/nope", viewer},        // 404
		{"DELETE", Prefix + "/zones", viewer},    // 405
		{"GET", "/admin/crowd-risk/monitor", ""}, // a page
		{"GET", Prefix + "/stream", viewer},      // a stream
		{"GET", "/healthz", ""},
	} {
		var h []string
		if c.auth != "" {
			h = []string{"Authorization", c.auth}
		}
		r := e.do(c.method, c.path, "", h...)
		for name, want := range map[string]string{
			"Content-Security-Policy": ContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := r.header.Get(name); got != want {
				t.Errorf("%s %s (%d): %s = %q", c.method, c.path, r.status, name, got)
			}
		}
		if r.header.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: no request id", c.method, c.path)
		}
	}
	if !strings.Contains(ContentSecurityPolicy, "script-src 'self';") || strings.Contains(ContentSecurityPolicy, "unsafe-inline") {
		t.Fatal("CSP must forbid inline scripts")
	}
}

func TestUnknownRouteAndWrongMethod(t *testing.T) {
	e := start(t, false, nil)
	wantError(t, e.do("GET", Prefix+"/nope", ""), 404, "not_found", "")
	wantError(t, e.do("GET", "/api/other", ""), 404, "not_found", "")
	r := e.do("PUT", Prefix+"/emergency", "")
	wantError(t, r, 405, "method_not_allowed", "")
	allow := r.header.Get("Allow")
	for _, m := range []string{"GET", "POST", "DELETE"} {
		if !strings.Contains(allow, m) {
			t.Errorf("Allow %q lacks %s", allow, m)
		}
	}
	r = e.do("GET", "/", "")
	if r.status != http.StatusFound || r.header.Get("Location") != MonitorPage {
		t.Fatalf("GET /: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestCORS(t *testing.T) {
	const good, evil = "https://ops.example.org", "https://evil.example"
	e := start(t, true, func(o *Options) { o.AllowedOrigins = []string{good} })
	viewer := "Bearer " + e.token("viewer")

	r := e.do("GET", Prefix+"/zones", "", "Origin", good, "Authorization", viewer)
	if r.header.Get("Access-Control-Allow-Origin") != good || r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed origin: %v", r.header)
	}
	if r := e.do("GET", Prefix+"/zones", "", "Authorization", viewer); !strings.Contains(r.header.Get("Vary"), "Origin") {
		t.Errorf("a response without Origin lacks Vary: Origin, so a cache could serve it cross-origin")
	}
	r = e.do("GET", Prefix+"/zones", "", "Origin", evil, "Authorization", viewer)
	if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("foreign origin got CORS headers: %v", r.header)
	}

	pre := func(origin string) reply {
		return e.do("OPTIONS", Prefix+"/emergency", "", "Origin", origin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-csrf-token")
	}
	r = pre(good)
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != good ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "X-CSRF-Token") {
		t.Fatalf("preflight from allowed origin: %d %v", r.status, r.header)
	}
	r = pre(evil)
	wantError(t, r, 403, "forbidden", "")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("refused preflight carries CORS headers")
	}

	// A cross-origin write from the allowed origin passes, from another is
	// refused before it reaches the engine.
	op := "Bearer " + e.token("operator")
	r = e.do("POST", Prefix+"/emergency", `{"reason":"x"}`, "Origin", good, "Sec-Fetch-Site", "cross-site", "Authorization", op)
	if r.status != 200 {
		t.Fatalf("write from allowed origin: %d %s", r.status, r.body)
	}
	e.do("DELETE", Prefix+"/emergency", "", "Authorization", op)
	r = e.do("POST", Prefix+"/emergency", `{"reason":"x"}`, "Origin", evil, "Sec-Fetch-Site", "cross-site", "Authorization", op)
	wantError(t, r, 403, "forbidden", "")
	if e.engine.Emergency() != nil {
		t.Fatal("cross-origin write reached the engine")
	}
}

// Without a secret every caller is admin, so a page on another site must not
// be able to drive the loopback demo through the user's browser.
func TestLoopbackDemoRefusesCrossSiteWrites(t *testing.T) {
	e := start(t, false, nil)
	r := e.do("POST", Prefix+"/emergency", `{"reason":"pwned"}`, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	wantError(t, r, 403, "forbidden", "")
	r = e.do("POST", Prefix+"/emergency", `{"reason":"pwned"}`, "Origin", "http://evil.example")
	wantError(t, r, 403, "forbidden", "")
	if e.engine.Emergency() != nil {
		t.Fatal("cross-site write reached the engine")
	}
	if r := e.do("POST", Prefix+"/emergency", `{"reason":"real"}`, "Sec-Fetch-Site", "same-origin"); r.status != 200 {
		t.Fatalf("same-origin write: %d %s", r.status, r.body)
	}
}

func TestCookieSessionAndCSRF(t *testing.T) {
	e := start(t, true, nil)
	tok := e.token("operator")

	r := e.do("POST", "/api/auth/session", `{"token":"`+tok+`"}`)
	if r.status != 200 {
		t.Fatalf("sign-in: %d %s", r.status, r.body)
	}
	var me meResponse
	r.decode(t, &me)
	if me.Subject != "user-operator" || me.Role != auth.Operator || !me.AuthRequired || me.ExpiresAt != t0.Add(time.Hour).UnixMilli() {
		t.Fatalf("sign-in answer %+v", me)
	}
	var session, csrf string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		switch c.Name {
		case auth.SessionCookie:
			session = c.Value
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("session cookie %+v", c)
			}
		case auth.CSRFCookie:
			csrf = c.Value
		}
	}
	if session != tok || csrf == "" {
		t.Fatalf("cookies: session %q csrf %q", session, csrf)
	}
	cookies := auth.SessionCookie + "=" + session + "; " + auth.CSRFCookie + "=" + csrf

	// Reads need no CSRF token: this is how EventSource authenticates.
	if r := e.do("GET", Prefix+"/alert-stream", "", "Cookie", cookies); r.status != 200 || !strings.Contains(string(r.body), "subject=user-operator") {
		t.Fatalf("stream by cookie: %d %s", r.status, r.body)
	}
	wantError(t, e.do("POST", Prefix+"/alerts/a1/acknowledge", "", "Cookie", cookies), 403, "forbidden", "")
	wantError(t, e.do("POST", Prefix+"/alerts/a1/acknowledge", "", "Cookie", cookies, auth.CSRFHeader, "forged"), 403, "forbidden", "")
	if c := e.engine.lastCall(); strings.HasPrefix(c, "Acknowledge") {
		t.Fatalf("a write without CSRF token reached the engine: %s", c)
	}
	if r := e.do("POST", Prefix+"/alerts/a1/acknowledge", "", "Cookie", cookies, auth.CSRFHeader, csrf); r.status != 200 {
		t.Fatalf("write with CSRF token: %d %s", r.status, r.body)
	}
	if c := e.engine.lastCall(); c != "Acknowledge a1 user-operator" {
		t.Fatalf("engine saw %q", c)
	}
	// Bearer requests need no CSRF token.
	if r := e.do("DELETE", Prefix+"/emergency", "", "Authorization", "Bearer "+tok); r.status != 200 {
		t.Fatalf("bearer write: %d %s", r.status, r.body)
	}

	wantError(t, e.do("POST", "/api/auth/session", `{"token":"`+tok+`x"}`), 401, "unauthorized", "token")
	wantError(t, e.do("POST", "/api/auth/session", `{"tokn":"x"}`), 400, "invalid", "tokn")

	r = e.do("DELETE", "/api/auth/session", "", "Cookie", cookies)
	if r.status != 204 {
		t.Fatalf("sign-out: %d", r.status)
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("sign-out left cookie %+v", c)
		}
	}

	// Once the token expires, so does the session.
	e.clock.Advance(2 * time.Hour)
	wantError(t, e.do("GET", Prefix+"/zones", "", "Cookie", cookies), 401, "unauthorized", "")
}

func TestRateLimit(t *testing.T) {
	e := start(t, true, func(o *Options) { o.RateLimit = RateLimit{PerSecond: 2, Burst: 3} })
	viewer := "Bearer " + e.token("viewer")
	get := func(h ...string) reply { return e.do("GET", Prefix+"/zones", "", h...) }
	for i := range 3 {
		if r := get("Authorization", viewer); r.status != 200 {
			t.Fatalf("request %d within burst: %d", i, r.status)
		}
	}
	r := get("Authorization", viewer)
	wantError(t, r, 429, "rate_limited", "")
	if r.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q, want 1 (half a second, rounded up)", r.header.Get("Retry-After"))
	}
	// Another subject has its own budget; probes are exempt; opening a
	// stream costs a request (a reconnect loop is limited too).
	if r := get("Authorization", "Bearer "+e.token("operator")); r.status != 200 {
		t.Fatalf("other client limited: %d", r.status)
	}
	wantError(t, e.do("GET", Prefix+"/stream", "", "Authorization", viewer), 429, "rate_limited", "")
	for range 5 {
		if r := e.do("GET", "/healthz", ""); r.status != 200 {
			t.Fatalf("healthz limited: %d", r.status)
		}
	}
	e.clock.Advance(500 * time.Millisecond)
	if r := get("Authorization", viewer); r.status != 200 {
		t.Fatalf("after refill: %d", r.status)
	}
	// Without a token the client is its address.
	for range 3 {
		get()
	}
	r = get()
	wantError(t, r, 429, "rate_limited", "")
}

func TestLimiterTableIsBounded(t *testing.T) {
	l := newLimiters(1, 1, 100)
	for i := range 1000 {
		l.allow("ip:10.0.0."+string(rune('a'+i%26))+string(rune(i)), t0)
	}
	if n := l.size(); n != 100 {
		t.Fatalf("table holds %d clients, want 100", n)
	}
	// A recently seen client survives the churn of others.
	l = newLimiters(1, 1, 2)
	l.allow("a", t0)
	l.allow("b", t0)
	l.allow("a", t0) // a is now the most recent, and out of tokens
	l.allow("c", t0) // evicts b
	if ok, _ := l.allow("a", t0); ok {
		t.Fatal("client a was forgotten and got a fresh bucket")
	}
}

func TestNoSecretAnswersOnlyToLoopbackHosts(t *testing.T) {
	e := start(t, false, nil)
	for _, host := range []string{"localhost:8080", "127.0.0.1", "[::1]:9", "LOCALHOST"} {
		if r := e.do("GET", Prefix+"/zones", "", "Host", host); r.status != 200 {
			t.Errorf("Host %s: %d", host, r.status)
		}
	}
	for _, host := range []string{"evil.example:8080", "rebind.evil.example", "10.0.0.1", "localhost.evil.example"} {
		wantError(t, e.do("GET", Prefix+"/zones", "", "Host", host), 403, "forbidden", "")
	}
	// With a secret, or --insecure, any Host is fine.
	e = start(t, false, func(o *Options) { o.AllowAnyHost = true })
	if r := e.do("GET", Prefix+"/zones", "", "Host", "ops.example.org"); r.status != 200 {
		t.Errorf("AllowAnyHost: %d", r.status)
	}
	e = start(t, true, nil)
	if r := e.do("GET", "/healthz", "", "Host", "ops.example.org"); r.status != 200 {
		t.Errorf("with auth: %d", r.status)
	}
}
