package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The monitor's notifications line says when a receiver fails (which one,
// why, how much waits) and goes back to OK once it takes deliveries again,
// with no reload.
func TestNotificationsLineFollowsAReceiver(t *testing.T) {
	var up atomic.Bool
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "receiver down", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	b := newBrowser(t)
	e := startEngineEnv(t, buildEngine(t), []string{"CROWDRISK_WEBHOOK_SECRET=e2e-webhook-secret-0123456789"}, "--webhook", hook.URL)
	monitor := b.root
	do(t, monitor, 30*time.Second, chromedp.Navigate(e.url(monitorPath)))
	waitFor(t, monitor, 10*time.Second, "monitor connected", stateIs("connected", "connected"))
	res, err := http.Post(e.url("/api/crowd-risk/testing/alert"), "application/json",
		strings.NewReader(`{"zoneId":"gate-a","level":"critical","message":"drill"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	line := `document.querySelector('.notifications-status')`
	waitFor(t, monitor, 30*time.Second, "the failing line",
		`(l => l !== null && !l.hidden && l.dataset.state === 'failing' && l.textContent.includes('Notifications failing: '+`+jsString(hook.URL)+`) && l.textContent.includes('HTTP 500'))(`+line+`)`)
	screenshot(t, monitor, "notifications-failing")
	up.Store(true)
	waitFor(t, monitor, 60*time.Second, "the line back to OK",
		`(l => !l.hidden && l.dataset.state === 'ok' && l.textContent.startsWith('Notifications: 1 receiver OK'))(`+line+`)`)
}
