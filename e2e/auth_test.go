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

const streamPath = "/api/crowd-risk/stream?topics=density,alerts"

// The dashboard as it runs beyond loopback: with a JWT secret, every page
// and stream needs a sign-in. Tokens come from the real `crowdrisk token`
// command; the browser holds the session only as an HttpOnly cookie, and
// writes prove their origin with the CSRF header.
//
// A stranger is sent to the login page and no stream is opened; an operator
// sees the live monitor and acknowledges an alert that an admin raised
// through the API; a viewer (a fresh browser context) sees the alerts and an
// emergency but no Acknowledge button and no emergency controls, and the
// engine refuses the viewer's own calls (403), and calls without the cookie
// (401); signing out ends the session.
func TestSignedInOperatorAndViewer(t *testing.T) {
	t.Parallel()
	r := newRoles(t, newBrowser(t), startSecuredEngine(t, buildEngine(t), "--testing", "on"))
	guest := r.b.newContext()
	traffic := recordTraffic(guest)
	r.strangerIsSentToLogin(guest, traffic)
	op := r.b.root
	r.operatorAcknowledges(op)
	viewer := guest // the stranger signs in as a viewer
	r.viewerIsRefused(viewer, traffic)
	r.emergencyShownButOnlyOperatorEnds(op, viewer)
	r.signOut(viewer)
}

// alertJSON is the part of an alert these tests read.
type alertJSON struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	Message        string `json:"message"`
	AcknowledgedBy string `json:"acknowledgedBy"`
}

// roles is the signed-in test's fixture: one engine, one browser, the
// venue's first zone for the alerts an admin raises.
type roles struct {
	t      *testing.T
	b      *browser
	s      *securedEngine
	zoneID string
	suffix string // makes this run's alert messages unique
}

func newRoles(t *testing.T, b *browser, s *securedEngine) *roles {
	t.Helper()
	// The secret is on: the API turns away a caller without a token.
	if code, body := call(t, s.engine, "GET", "/api/crowd-risk/alerts", "", nil); code != 401 {
		t.Fatalf("GET /alerts with no token: %d %s, want 401", code, body)
	}
	var zones []struct {
		ID string `json:"id"`
	}
	callJSON(t, s.engine, "GET", "/api/crowd-risk/zones", s.tokens["viewer"], nil, 200, &zones)
	if len(zones) == 0 {
		t.Fatal("no zones")
	}
	return &roles{t: t, b: b, s: s, zoneID: zones[0].ID, suffix: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// raise has the admin generate a critical test alert through the API.
func (r *roles) raise(who string) alertJSON {
	r.t.Helper()
	var a alertJSON
	callJSON(r.t, r.s.engine, "POST", "/api/crowd-risk/testing/alert", r.s.tokens["admin"],
		map[string]string{"zoneId": r.zoneID, "level": "critical", "message": "e2e alert for the " + who + " " + r.suffix}, 200, &a)
	if a.ID == "" || a.Status != "active" {
		r.t.Fatalf("raised alert %+v, want an active one", a)
	}
	return a
}

// alertOf is the engine's own view of an alert.
func (r *roles) alertOf(id string) alertJSON {
	r.t.Helper()
	var all []alertJSON
	callJSON(r.t, r.s.engine, "GET", "/api/crowd-risk/alerts", r.s.tokens["admin"], nil, 200, &all)
	for _, a := range all {
		if a.ID == id {
			return a
		}
	}
	r.t.Fatalf("alert %s is not in the engine's list", id)
	return alertJSON{}
}

func alertSel(id string) string  { return `#alerts .alert[data-alert-id="` + id + `"]` }
func findAlert(id string) string { return `document.querySelector('` + alertSel(id) + `')` }

const loginShown = `location.pathname === '` + loginPath + `' && document.getElementById('login-form')?.hidden === false`

func (r *roles) strangerIsSentToLogin(guest context.Context, traffic *traffic) {
	t := r.t // no t.Helper: a failure names the line of the check
	do(t, guest, 30*time.Second, chromedp.Navigate(r.s.url(monitorPath)))
	waitFor(t, guest, 10*time.Second, "the login page instead of the monitor", loginShown)
	if next := eval[string](t, guest, `new URLSearchParams(location.search).get('next') ?? ''`); next != monitorPath {
		t.Errorf("login page's next = %q, want %q", next, monitorPath)
	}
	if st, ok := traffic.statusOf(r.s.url("/api/auth/me")); !ok || st != 401 {
		t.Errorf("the monitor's who-am-I without a session: status %d (seen %v), want 401", st, ok)
	}
	if got := traffic.streams(); len(got) != 0 {
		t.Errorf("the monitor opened a stream before sign-in: %q", got)
	}
	// Nor could it have: the engine refuses a stream without a session.
	if res := pageFetch(t, guest, "GET", streamPath, true, false); res.Status != 401 || res.Code != "unauthorized" {
		t.Errorf("stream without a session: %+v, want 401 unauthorized", res)
	}
}

func (r *roles) operatorAcknowledges(op context.Context) {
	t := r.t
	r.s.signInAt(t, op, "operator")
	waitFor(t, op, 10*time.Second, "both indicators connected", stateIs("connected", "connected"))
	if got := eval[string](t, op, `[...document.querySelectorAll('.conn-status')].map(e => e.dataset.tone).join(',')`); got != "ok,ok" {
		t.Errorf("indicator tones %q, want ok,ok (green)", got)
	}
	checkSessionCookie(t, op, r.s.engine, r.s.tokens["operator"])
	if got := eval[string](t, op, `document.getElementById('user-name').textContent`); !strings.Contains(got, "operator-e2e") {
		t.Errorf("signed-in user shown as %q", got)
	}
	if !eval[bool](t, op, `document.getElementById('emergency-form').checkVisibility()`) {
		t.Error("the operator has no control to activate emergency mode")
	}

	a := r.raise("operator")
	waitFor(t, op, 5*time.Second, "the admin's alert on the operator's monitor", findAlert(a.ID)+`?.querySelector('.btn-ack') != null`)
	screenshot(t, op, "operator")

	// A cookie-authenticated write without the CSRF header is refused...
	if res := pageFetch(t, op, "POST", "/api/crowd-risk/alerts/"+a.ID+"/acknowledge", true, false); res.Status != 403 {
		t.Errorf("acknowledge with the session cookie but no CSRF header: %+v, want 403", res)
	}
	if got := r.alertOf(a.ID); got.Status != "active" {
		t.Fatalf("alert after the refused acknowledge: %+v", got)
	}
	// ...and the page's own button, which sends it, works.
	do(t, op, 10*time.Second, chromedp.Click(chromedp.CSS(alertSel(a.ID)+` .btn-ack`)))
	waitFor(t, op, 5*time.Second, "the alert acknowledged on the page", `(a => !a || a.dataset.status === 'acknowledged')(`+findAlert(a.ID)+`)`)
	if got := r.alertOf(a.ID); got.AcknowledgedBy != "operator-e2e" || (got.Status != "acknowledged" && got.Status != "resolved") {
		t.Errorf("alert in the engine after the operator's click: %+v, want acknowledged by operator-e2e", got)
	}
}

// viewerIsRefused signs the stranger's tab in as a viewer, through the
// login page the monitor sent it to.
func (r *roles) viewerIsRefused(viewer context.Context, traffic *traffic) {
	t := r.t
	a := r.raise("viewer")
	// The stranger's own probe of the stream (401) is not the viewer's: only
	// streams asked for from here on count. (The monitor's stream is opened
	// by the SharedWorker that all tabs share, whose requests are not the
	// tab's; a tab of ?share=off would show its own.)
	before := len(traffic.streams())
	do(t, viewer, 30*time.Second, chromedp.Navigate(r.s.url(monitorPath)))
	signIn(t, viewer, r.s.tokens["viewer"], "viewer")
	waitFor(t, viewer, 10*time.Second, "both indicators connected", stateIs("connected", "connected"))
	checkSessionCookie(t, viewer, r.s.engine, r.s.tokens["viewer"])
	for _, u := range traffic.streams()[before:] {
		if st, ok := traffic.statusOf(u); ok && st != 200 {
			t.Errorf("the viewer's stream %s: status %d", u, st)
		}
		if strings.Contains(u, r.s.tokens["viewer"]) {
			t.Errorf("the token is in the stream URL %s", u)
		}
	}
	waitFor(t, viewer, 5*time.Second, "the alert on the viewer's monitor", findAlert(a.ID)+` != null`)
	waitFor(t, viewer, 5*time.Second, "the page loaded", `document.body.dataset.ready === 'true'`)
	if n := eval[int](t, viewer, `document.querySelectorAll('.btn-ack, [data-ack]').length`); n != 0 {
		t.Errorf("the viewer sees %d Acknowledge buttons", n)
	}
	if got := eval[string](t, viewer, `[...document.querySelectorAll('.operator-only, #emergency-form, #emergency-end, #emergency-activate')].filter((el) => el.checkVisibility()).map((el) => el.id).join(',')`); got != "" {
		t.Errorf("the viewer sees emergency controls: %s", got)
	}
	screenshot(t, viewer, "viewer")

	ack := "/api/crowd-risk/alerts/" + a.ID + "/acknowledge"
	if res := pageFetch(t, viewer, "POST", ack, true, true); res.Status != 403 || res.Code != "forbidden" {
		t.Errorf("the viewer's own acknowledge (cookie + CSRF header): %+v, want 403 forbidden", res)
	}
	if res := pageFetch(t, viewer, "POST", ack, false, true); res.Status != 401 || res.Code != "unauthorized" {
		t.Errorf("acknowledge without the cookie: %+v, want 401 unauthorized", res)
	}
	if res := pageFetch(t, viewer, "DELETE", "/api/crowd-risk/emergency", true, true); res.Status != 403 {
		t.Errorf("the viewer ending emergency mode: %+v, want 403", res)
	}
	if got := r.alertOf(a.ID); got.Status != "active" || got.AcknowledgedBy != "" {
		t.Errorf("alert after the viewer's attempts: %+v, want still active", got)
	}
}

// An emergency shows on both screens; only the operator's has End.
func (r *roles) emergencyShownButOnlyOperatorEnds(op, viewer context.Context) {
	t := r.t
	callJSON(t, r.s.engine, "POST", "/api/crowd-risk/emergency", r.s.tokens["admin"],
		map[string]any{"reason": "e2e drill " + r.suffix, "zoneIds": []string{r.zoneID}}, 200, nil)
	const bannerShown = `!document.getElementById('emergency-active').hidden`
	waitFor(t, op, 5*time.Second, "the emergency banner for the operator", bannerShown)
	waitFor(t, viewer, 5*time.Second, "the emergency banner for the viewer", bannerShown)
	if !eval[bool](t, op, `document.getElementById('emergency-end').checkVisibility()`) {
		t.Error("the operator has no End emergency button")
	}
	if eval[bool](t, viewer, `document.getElementById('emergency-end').checkVisibility()`) {
		t.Error("the viewer has an End emergency button")
	}
	screenshot(t, viewer, "viewer-emergency")
}

// signOut: back to the login page, and the browser can no longer open a stream.
func (r *roles) signOut(tab context.Context) {
	t := r.t
	do(t, tab, 10*time.Second, chromedp.Click(chromedp.ID("sign-out")))
	waitFor(t, tab, 10*time.Second, "the login page after signing out", loginShown)
	if ck := sessionCookie(t, tab, r.s.engine); ck != nil {
		t.Errorf("the session cookie outlived the sign-out: %+v", ck)
	}
	if res := pageFetch(t, tab, "GET", streamPath, true, false); res.Status != 401 {
		t.Errorf("stream after signing out: %+v, want 401", res)
	}
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
