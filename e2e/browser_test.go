package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// browser is one headless Chromium for a test; tabs share it.
type browser struct {
	t     *testing.T
	alloc context.Context
	root  context.Context // the first tab; it owns the browser process
	mu    sync.Mutex
	exc   []string // uncaught exceptions of the pages
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are skipped in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing (scripts/test installs Debian's chromium package): %v", chromiumPath, err)
	}
	// Exactly these flags: a quiet, reproducible browser that talks to
	// nothing but the engine on loopback.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1600, 1000),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t, alloc: alloc}
	root, cancelRoot := chromedp.NewContext(alloc)
	b.root = root
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	if err := chromedp.Do(root); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	b.watch(root)
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.exc {
			t.Errorf("uncaught exception in the page: %s", e)
		}
	})
	return b
}

// newTab opens another tab in the same browser.
func (b *browser) newTab() context.Context {
	ctx, cancel := chromedp.NewContext(b.root)
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("new tab: %v", err)
	}
	b.watch(ctx)
	return ctx
}

// newContext opens a tab in a fresh browser context: its own cookies and
// storage, as a second person signing in on another machine would have.
func (b *browser) newContext() context.Context {
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("new browser context: %v", err)
	}
	b.watch(ctx)
	return ctx
}

// bringToFront makes a tab the visible one, as the monitor on a control
// room's wall is; a background tab gets no animation frames and throttled timers.
func bringToFront(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, 10*time.Second, func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tgt, page.BringToFront, cdp.Empty{})
		return chromedp.Void{}, err
	})
}

// watch records the page's uncaught exceptions: the dashboard must not throw.
func (b *browser) watch(ctx context.Context) {
	_ = chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			b.mu.Lock()
			b.exc = append(b.exc, msg)
			b.mu.Unlock()
		}
	})
}

// do runs steps with a timeout, failing the test on error.
func do(t *testing.T, ctx context.Context, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JS expression.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JS predicate until it is true, failing with what the
// indicators say when it is not within timeout. It returns how long it took.
// A poll does not survive a navigation (a sign-in, a redirect to the login
// page), so one cut short by a navigation starts again on the new page.
func waitFor(t *testing.T, ctx context.Context, timeout time.Duration, what, predicate string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		remaining := max(time.Until(deadline), time.Millisecond)
		c, cancel := context.WithTimeout(ctx, remaining+5*time.Second)
		_, err := chromedp.Run(c, chromedp.Poll[chromedp.Void](predicate,
			chromedp.WithPollingTimeout(remaining), chromedp.WithPollingInterval(50*time.Millisecond)))
		cancel()
		if err == nil {
			return time.Since(start)
		}
		if cutByNavigation(err) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		t.Fatalf("waiting %v for %s: %v (indicators: %s)", timeout, what, err, indicators(t, ctx))
	}
}

// cutByNavigation reports whether err says the page under evaluation went
// away (the DevTools protocol's words for it).
func cutByNavigation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "navigated or closed") ||
		strings.Contains(msg, "Execution context was destroyed") ||
		strings.Contains(msg, "Cannot find context with specified id")
}

const indicatorsJS = `[...document.querySelectorAll('.conn-status')].map(e => e.dataset.stream + '=' + e.dataset.state + '/' + e.dataset.mode).join(' ')`

func indicators(t *testing.T, ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string](indicatorsJS))
	if err != nil {
		return "unreadable: " + err.Error()
	}
	return s
}

// stateIs is a predicate on the two indicators' data-state.
func stateIs(density, alerts string) string {
	return fmt.Sprintf(`document.querySelector('.conn-status[data-stream="density"]')?.dataset.state === %q && document.querySelector('.conn-status[data-stream="alerts"]')?.dataset.state === %q`, density, alerts)
}

// screenshot saves the page as an artifact ($CROWDRISK_ARTIFACTS, default
// <repo>/artifacts).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CROWDRISK_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}
