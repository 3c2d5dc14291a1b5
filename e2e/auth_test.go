package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// alertJSON is the part of an alert these tests read.
type alertJSON struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	Message        string `json:"message"`
	AcknowledgedBy string `json:"acknowledgedBy"`
}

// The dashboard as it runs beyond loopback: with a JWT secret, every page
// and stream needs a sign-in. Tokens come from the real `crowdrisk token`
// command; the browser holds the session only as an HttpOnly cookie, and
// writes prove their origin with the CSRF header.
//
// A stranger is sent to the login page and no stream is opened; an operator
// sees the live monitor and acknowledges an alert that an admin raised
// through the API; a viewer sees the same alerts but no Acknowledge button
// and no emergency controls, and the engine refuses the viewer's own call
// (403), and a call without the cookie (401).
func TestSignedInOperatorAndViewer(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	s := startSecuredEngine(t, buildEngine(t), "--testing", "on")
	e := s.engine
	operatorTok, viewerTok, adminTok := s.tokens["operator"], s.tokens["viewer"], s.tokens["admin"]

	// The secret is on: the API turns away a caller without a token.
	if code, body := call(t, e, "GET", "/api/crowd-risk/alerts", "", nil); code != 401 {
		t.Fatalf("GET /alerts with no token: %d %s, want 401", code, body)
	}
	var zones []struct {
		ID string `json:"id"`
	}
	callJSON(t, e, "GET", "/api/crowd-risk/zones", viewerTok, nil, 200, &zones)
	if len(zones) == 0 {
		t.Fatal("no zones")
	}
	raise := func(msg string) alertJSON {
		t.Helper()
		var a alertJSON
		callJSON(t, e, "POST", "/api/crowd-risk/testing/alert", adminTok,
			map[string]string{"zoneId": zones[0].ID, "level": "critical", "message": msg}, 200, &a)
		if a.ID == "" || a.Status != "active" {
			t.Fatalf("raised alert %+v, want an active one", a)
		}
		return a
	}
	alertOf := func(id string) alertJSON {
		t.Helper()
		var all []alertJSON
		callJSON(t, e, "GET", "/api/crowd-risk/alerts", adminTok, nil, 200, &all)
		for _, a := range all {
			if a.ID == id {
				return a
			}
		}
		t.Fatalf("alert %s is not in the engine's list", id)
		return alertJSON{}
	}
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)

	// --- A stranger: a fresh browser context that has never signed in.
	guest := b.newContext()
	guestTraffic := recordTraffic(guest)
	do(t, guest, 30*time.Second, chromedp.Navigate(e.url(monitorPath)))
	waitFor(t, guest, 10*time.Second, "the login page instead of the monitor",
		`location.pathname === '`+loginPath+`' && document.getElementById('login-form')?.hidden === false`)
	if next := eval[string](t, guest, `new URLSearchParams(location.search).get('next') ?? ''`); next != monitorPath {
		t.Errorf("login page's next = %q, want %q", next, monitorPath)
	}
	if s, ok := guestTraffic.statusOf(e.url("/api/auth/me")); !ok || s != 401 {
		t.Errorf("the monitor's who-am-I without a session: status %d (seen %v), want 401", s, ok)
	}
	if got := guestTraffic.streams(); len(got) != 0 {
		t.Errorf("the monitor opened a stream before sign-in: %q", got)
	}
	// The page could not have opened one anyway.
	if r := pageFetch(t, guest, "GET", "/api/crowd-risk/stream?topics=density,alerts", true, false); r.Status != 401 || r.Code != "unauthorized" {
		t.Errorf("stream without a session: %+v, want 401 unauthorized", r)
	}

	// --- The operator signs in on the login page.
	op := b.root
	s.signInAt(t, op, "operator")
	waitFor(t, op, 10*time.Second, "both indicators connected", stateIs("connected", "connected"))
	if got := eval[string](t, op, `[...document.querySelectorAll('.conn-status')].map(e => e.dataset.tone).join(',')`); got != "ok,ok" {
		t.Errorf("indicator tones %q, want ok,ok (green)", got)
	}
	checkSessionCookie(t, op, e, operatorTok)
	if got := eval[string](t, op, `document.getElementById('user-name').textContent`); !strings.Contains(got, "operator-e2e") {
		t.Errorf("signed-in user shown as %q", got)
	}
	if !eval[bool](t, op, `document.getElementById('emergency-form').checkVisibility()`) {
		t.Error("the operator has no control to activate emergency mode")
	}

	first := raise("e2e operator alert " + suffix)
	alertSel := func(id string) string { return `#alerts .alert[data-alert-id="` + id + `"]` }
	find := func(id string) string { return `document.querySelector('` + alertSel(id) + `')` }
	waitFor(t, op, 5*time.Second, "the admin's alert on the operator's monitor", find(first.ID)+`?.querySelector('.btn-ack') != null`)
	screenshot(t, op, "operator")

	// A cookie-authenticated write without the CSRF header is refused...
	if r := pageFetch(t, op, "POST", "/api/crowd-risk/alerts/"+first.ID+"/acknowledge", true, false); r.Status != 403 {
		t.Errorf("acknowledge with the session cookie but no CSRF header: %+v, want 403", r)
	}
	if a := alertOf(first.ID); a.Status != "active" {
		t.Fatalf("alert after the refused acknowledge: %+v", a)
	}
	// ...and the page's own button, which sends it, works.
	do(t, op, 10*time.Second, chromedp.Click(chromedp.CSS(alertSel(first.ID)+` .btn-ack`)))
	waitFor(t, op, 5*time.Second, "the alert acknowledged on the page", `(a => !a || a.dataset.status === 'acknowledged')(`+find(first.ID)+`)`)
	if a := alertOf(first.ID); a.AcknowledgedBy != "operator-e2e" || (a.Status != "acknowledged" && a.Status != "resolved") {
		t.Errorf("alert in the engine after the operator's click: %+v, want acknowledged by operator-e2e", a)
	}

	// --- The viewer: a fresh browser context, sent to the login page, and
	// back to the monitor after signing in.
	second := raise("e2e viewer alert " + suffix)
	viewer := guest
	do(t, viewer, 30*time.Second, chromedp.Navigate(e.url(monitorPath)))
	signIn(t, viewer, viewerTok, "viewer")
	waitFor(t, viewer, 10*time.Second, "both indicators connected", stateIs("connected", "connected"))
	checkSessionCookie(t, viewer, e, viewerTok)
	for _, u := range guestTraffic.streams() {
		if s, ok := guestTraffic.statusOf(u); ok && s != 200 {
			t.Errorf("the viewer's stream %s: status %d", u, s)
		}
		if strings.Contains(u, viewerTok) {
			t.Errorf("the token is in the stream URL %s", u)
		}
	}
	waitFor(t, viewer, 5*time.Second, "the alert on the viewer's monitor", find(second.ID)+` != null`)
	waitFor(t, viewer, 5*time.Second, "the page loaded", `document.body.dataset.ready === 'true'`)
	if n := eval[int](t, viewer, `document.querySelectorAll('.btn-ack, [data-ack]').length`); n != 0 {
		t.Errorf("the viewer sees %d Acknowledge buttons", n)
	}
	if got := eval[string](t, viewer, `[...document.querySelectorAll('.operator-only, #emergency-form, #emergency-end, #emergency-activate')].filter((el) => el.checkVisibility()).map((el) => el.id).join(',')`); got != "" {
		t.Errorf("the viewer sees emergency controls: %s", got)
	}
	screenshot(t, viewer, "viewer")

	if r := pageFetch(t, viewer, "POST", "/api/crowd-risk/alerts/"+second.ID+"/acknowledge", true, true); r.Status != 403 || r.Code != "forbidden" {
		t.Errorf("the viewer's own acknowledge (cookie + CSRF header): %+v, want 403 forbidden", r)
	}
	if r := pageFetch(t, viewer, "POST", "/api/crowd-risk/alerts/"+second.ID+"/acknowledge", false, true); r.Status != 401 || r.Code != "unauthorized" {
		t.Errorf("acknowledge without the cookie: %+v, want 401 unauthorized", r)
	}
	if r := pageFetch(t, viewer, "DELETE", "/api/crowd-risk/emergency", true, true); r.Status != 403 {
		t.Errorf("the viewer ending emergency mode: %+v, want 403", r)
	}
	if a := alertOf(second.ID); a.Status != "active" || a.AcknowledgedBy != "" {
		t.Errorf("alert after the viewer's attempts: %+v, want still active", a)
	}

	// An emergency shows on both screens; only the operator may end it.
	callJSON(t, e, "POST", "/api/crowd-risk/emergency", adminTok,
		map[string]any{"reason": "e2e drill " + suffix, "zoneIds": []string{zones[0].ID}}, 200, nil)
	waitFor(t, op, 5*time.Second, "the emergency banner for the operator", `!document.getElementById('emergency-active').hidden`)
	waitFor(t, viewer, 5*time.Second, "the emergency banner for the viewer", `!document.getElementById('emergency-active').hidden`)
	if !eval[bool](t, op, `document.getElementById('emergency-end').checkVisibility()`) {
		t.Error("the operator has no End emergency button")
	}
	if eval[bool](t, viewer, `document.getElementById('emergency-end').checkVisibility()`) {
		t.Error("the viewer has an End emergency button")
	}
	screenshot(t, viewer, "viewer-emergency")
}

// checkSessionCookie asserts that the browser holds the session as an
// HttpOnly, SameSite=Strict cookie that the page's scripts cannot read,
// beside the readable CSRF cookie.
func checkSessionCookie(t *testing.T, ctx context.Context, e *engine, token string) {
	t.Helper()
	ck := sessionCookie(t, ctx, e)
	switch {
	case ck == nil:
		t.Fatal("no crowdrisk_session cookie after signing in")
	case ck.Value != token:
		t.Error("the session cookie does not hold the token signed in with")
	case !ck.HTTPOnly || ck.SameSite != network.CookieSameSiteStrict:
		t.Errorf("session cookie HttpOnly=%v SameSite=%q, want HttpOnly and Strict", ck.HTTPOnly, ck.SameSite)
	}
	cookies := eval[string](t, ctx, `document.cookie`)
	if strings.Contains(cookies, "crowdrisk_session") || strings.Contains(cookies, token) {
		t.Errorf("the page's scripts can read the session: document.cookie = %q", cookies)
	}
	if !strings.Contains(cookies, "crowdrisk_csrf=") {
		t.Errorf("no readable crowdrisk_csrf cookie: document.cookie = %q", cookies)
	}
}
