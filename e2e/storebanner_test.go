package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// The data directory on a small tmpfs that fills up: the monitor shows the
// store banner ("History not saved since 14:02: disk full") while a refused
// command has put the engine in its degraded state, and hides it once the
// engine's own check finds room again, with no reload.
func TestStoreBannerFollowsAFullDisk(t *testing.T) {
	b := newBrowser(t)
	dir := testenv.Tmpfs(t, 8<<20)
	e := startEngine(t, buildEngine(t), "--data-dir", dir)
	monitor := b.root
	do(t, monitor, 30*time.Second, chromedp.Navigate(e.url(monitorPath)))
	waitFor(t, monitor, 10*time.Second, "monitor connected", stateIs("connected", "connected"))
	banner := `(b => b !== null && !b.hidden && b.textContent.includes('History not saved since') && b.textContent.includes('disk full'))(document.querySelector('.store-banner'))`
	if eval[bool](t, monitor, banner) {
		t.Fatal("the banner shows before the disk is full")
	}

	free := testenv.Fill(t, dir)
	res, err := http.Post(e.url("/api/crowd-risk/testing/alert"), "application/json",
		strings.NewReader(`{"zoneId":"gate-a","level":"critical","message":"drill"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("test alert on a full disk: %d", res.StatusCode)
	}
	waitFor(t, monitor, 5*time.Second, "the store banner", banner)
	screenshot(t, monitor, "store-banner")

	free()
	waitFor(t, monitor, 15*time.Second, "the banner gone once there is room",
		`(b => b === null || b.hidden)(document.querySelector('.store-banner'))`)
}
