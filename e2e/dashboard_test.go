// Package e2e drives the real engine binary with a real headless Chromium:
// the dashboard as an operator sees it, through crashes and restarts.
package e2e

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const monitorPath = "/admin/crowd-risk/monitor"

// Signed in as an operator, both indicators go green; a killed server
// turns them yellow (reconnecting); the restarted server (same port, same
// data, same secret) turns them green again without a page reload, the
// streams authenticated again by the session cookie.
func TestIndicatorsFollowKillAndRestart(t *testing.T) {
	t.Parallel() // mostly waiting on timers: overlaps the other waiting tests
	b := newBrowser(t)
	s := startSecuredEngine(t, buildEngine(t))
	e := s.engine
	tab := b.root
	s.signInAt(t, tab, "operator")
	waitFor(t, tab, 10*time.Second, "both indicators connected", stateIs("connected", "connected"))
	if got := eval[string](t, tab, `document.querySelector('.conn-status[data-stream="density"]').dataset.tone`); got != "ok" {
		t.Errorf("connected indicator tone %q, want ok (green)", got)
	}
	waitFor(t, tab, 10*time.Second, "zone cards with readings", `document.querySelectorAll('.zone[data-timestamp]:not([data-timestamp=""])').length > 0`)
	// The demo's gates report door crossings: their cards say so.
	waitFor(t, tab, 15*time.Second, "a gate's door counters on its card",
		`[...document.querySelectorAll('.zone[data-zone^="gate"] .zone-doors')].some(p => !p.hidden && /door.*in \d+\/min/.test(p.textContent))`)
	screenshot(t, tab, "1-connected")
	eval[bool](t, tab, `(window.__noReload = true)`)

	e.kill()
	waitFor(t, tab, 10*time.Second, "both indicators reconnecting", stateIs("reconnecting", "reconnecting"))
	if got := eval[string](t, tab, `[...document.querySelectorAll('.conn-status')].map(e => e.dataset.tone).join(',')`); got != "pending,pending" {
		t.Errorf("tones while the server is down: %q, want pending,pending (yellow)", got)
	}
	screenshot(t, tab, "2-server-down")

	e.start()
	// Failures so far are few, so the next attempt is at most 8 s away.
	waitFor(t, tab, 20*time.Second, "both indicators connected again", stateIs("connected", "connected"))
	if !eval[bool](t, tab, `window.__noReload === true`) {
		t.Fatal("the page was reloaded")
	}
	screenshot(t, tab, "3-reconnected")
}

// Signed in as a viewer, with the one stream slot held by someone else
// (--max-streams 1), the page's stream is refused with 503 every time: after
// five failed attempts the density view keeps updating by polling /density
// (authenticated by the session cookie), the alerts indicator shows error
// with a Retry control, and when the slot is free the background retry
// brings both back.
func TestDensityFallsBackToPolling(t *testing.T) {
	t.Parallel() // mostly waiting on timers: overlaps the other waiting tests
	b := newBrowser(t)
	s := startSecuredEngine(t, buildEngine(t), "--max-streams", "1")
	e := s.engine
	release := holdStream(t, e)
	if err := streamRefused(e); err != nil {
		t.Fatal(err)
	}
	tab := b.root
	s.signInAt(t, tab, "viewer")
	// Attempts at 0, 1, 3, 7 and 15 s (plus jitter): polling from about 15 s.
	took := waitFor(t, tab, 30*time.Second, "density polling", `document.querySelector('.conn-status[data-stream="density"]')?.dataset.mode === 'polling'`)
	if took < 12*time.Second {
		t.Errorf("polling began after %v: the backoff (1+2+4+8 s) was not honoured", took)
	}
	if got := indicators(t, tab); got != "density=reconnecting/polling alerts=error/stopped" {
		t.Errorf("indicators while polling: %q", got)
	}
	if !eval[bool](t, tab, `!document.getElementById('alerts-retry').hidden`) {
		t.Error("no Retry control for the alerts stream")
	}
	// The density view keeps updating: the newest reading shown moves on.
	newest := `Math.max(0, ...[...document.querySelectorAll('.zone')].map(z => Number(z.dataset.timestamp) || 0))`
	waitFor(t, tab, 10*time.Second, "a polled reading", newest+` > 0`)
	first := eval[float64](t, tab, newest)
	waitFor(t, tab, 12*time.Second, "a newer polled reading", newest+` > `+strconv.FormatFloat(first, 'f', 0, 64))
	if err := streamRefused(e); err != nil {
		t.Fatalf("the page's updates did not come from polling: %v", err)
	}
	screenshot(t, tab, "polling")

	release()
	// The background retry runs at the maximum backoff (30 s + jitter).
	waitFor(t, tab, 40*time.Second, "the stream back for both topics", stateIs("connected", "connected"))
	if mode := eval[string](t, tab, `document.querySelector('.conn-status[data-stream="density"]').dataset.mode`); mode != "stream" {
		t.Errorf("density mode after recovery %q, want stream", mode)
	}
}

// An alert generated on the testing page appears on the monitor within 2 s
// and can be acknowledged there. This one runs the loopback demo that
// `go run ./cmd/crowdrisk` starts: no secret, no sign-in, everyone admin.
// It is not parallel: it measures a latency, so it runs before the
// parallel tests start their browsers.
func TestTestAlertReachesMonitorAndIsAcknowledged(t *testing.T) {
	b := newBrowser(t)
	e := startEngine(t, buildEngine(t))
	monitor := b.root
	do(t, monitor, 30*time.Second, chromedp.Navigate(e.url(monitorPath)))
	waitFor(t, monitor, 10*time.Second, "monitor connected", stateIs("connected", "connected"))

	tester := b.newTab()
	do(t, tester, 30*time.Second, chromedp.Navigate(e.url("/admin/crowd-risk/testing")))
	waitFor(t, tester, 10*time.Second, "testing page ready", `document.body.dataset.ready === 'true' && document.querySelectorAll('#zone option').length > 0`)
	msg := "e2e test alert " + strconv.FormatInt(time.Now().UnixNano(), 36)
	do(t, tester, 10*time.Second,
		chromedp.SetValue(chromedp.ID("level"), "critical"),
		chromedp.SendKeys(chromedp.ID("message"), msg))
	bringToFront(t, monitor)
	start := time.Now()
	do(t, tester, 10*time.Second, chromedp.Click(chromedp.ID("trigger-alert")))
	find := `[...document.querySelectorAll('#alerts .alert')].find(a => a.querySelector('.alert-msg')?.textContent.includes(` + jsString(msg) + `))`
	waitFor(t, monitor, 2*time.Second-time.Since(start), "the test alert on the monitor", find+` !== undefined`)
	t.Logf("test alert on the monitor %v after the click", time.Since(start))
	// The stream can beat the tester's own answer to the monitor, so wait for it.
	waitFor(t, tester, 5*time.Second, "the testing page's result", `document.getElementById('result').dataset.status !== undefined`)
	if !eval[bool](t, tester, `document.getElementById('result').dataset.status === 'ok'`) {
		t.Errorf("testing page result: %s", eval[string](t, tester, `document.getElementById('result').textContent`))
	}
	id := eval[string](t, monitor, find+`.dataset.alertId`)
	screenshot(t, monitor, "1-alert")

	do(t, monitor, 10*time.Second, chromedp.Click(chromedp.CSS(`#alerts .alert[data-alert-id="`+id+`"] .btn-ack`)))
	// Acknowledged, the alert stays listed as such, or leaves the open list
	// when acknowledging resolved it (its condition had cleared); either
	// way the timeline records the acknowledgement.
	waitFor(t, monitor, 5*time.Second, "the alert acknowledged", `(a => !a || a.dataset.status === 'acknowledged')(`+find+`)`)
	waitFor(t, monitor, 5*time.Second, "the acknowledgement on the timeline",
		`[...document.querySelectorAll('#timeline .incident[data-kind="acknowledge"]')].some(i => i.textContent.includes(`+jsString(msg)+`))`)
	screenshot(t, monitor, "2-acknowledged")

	// The engine agrees: the acknowledgement is stored, with who and when.
	res, err := http.Get(e.url("/api/crowd-risk/alerts"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var alerts []struct {
		ID             string `json:"id"`
		Status         string `json:"status"`
		AcknowledgedBy string `json:"acknowledgedBy"`
	}
	if err := json.NewDecoder(res.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range alerts {
		if a.ID == id {
			found = true
			if a.AcknowledgedBy == "" || (a.Status != "acknowledged" && a.Status != "resolved") {
				t.Errorf("alert %s in the engine: status %q, acknowledged by %q", id, a.Status, a.AcknowledgedBy)
			}
		}
	}
	if !found {
		t.Errorf("alert %s is not acknowledged in the engine: %+v", id, alerts)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
