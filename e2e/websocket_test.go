package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// wsWatch records the page's WebSocket connections, SSE stream requests
// and acknowledgement POSTs.
type wsWatch struct {
	mu      sync.Mutex
	sockets []string
	streams int
	acks    int
}

func watchTransports(ctx context.Context) *wsWatch {
	w := &wsWatch{}
	_ = chromedp.Listen(ctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventWebSocketCreated:
			w.sockets = append(w.sockets, ev.URL)
		case *network.EventRequestWillBeSent:
			if strings.Contains(ev.Request.URL, "/api/crowd-risk/") && strings.Contains(ev.Request.URL, "stream") {
				w.streams++
			}
			if ev.Request.Method == "POST" && strings.HasSuffix(ev.Request.URL, "/acknowledge") {
				w.acks++
			}
		}
	})
	return w
}

func (w *wsWatch) counts() ([]string, int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.sockets...), w.streams, w.acks
}

// The monitor with ?transport=ws, signed in as an operator (the session
// cookie rides on the WebSocket handshake, which the SharedWorker holding
// the browser's one connection makes with the page's origin): both
// indicators go green with no SSE stream and no socket of the page's own,
// an alert an admin raises arrives, the page's Acknowledge button
// acknowledges it over the shared WebSocket (no POST) and the change comes
// back over it; a second alert is acknowledged over a WebSocket of the
// page's own with {"op":"acknowledge"}.
func TestMonitorOverWebSocket(t *testing.T) {
	t.Parallel()
	r := newRoles(t, newBrowser(t), startSecuredEngine(t, buildEngine(t), "--testing", "on"))
	op := r.b.root
	r.s.signInAt(t, op, "operator")
	watch := watchTransports(op)
	do(t, op, 30*time.Second, chromedp.Navigate(r.s.url(monitorPath+"?transport=ws")))
	waitFor(t, op, 10*time.Second, "both indicators connected over the WebSocket", stateIs("connected", "connected"))
	waitFor(t, op, 10*time.Second, "zone cards", `document.querySelectorAll('.zone').length > 0`)
	sockets, streams, _ := watch.counts()
	if share := eval[string](t, op, `document.body.dataset.share`); share != "worker" || len(sockets) != 0 || streams != 0 {
		t.Fatalf("share %q: the page opened WebSockets %q and %d SSE streams; want the shared worker's WebSocket, none of the page's own", share, sockets, streams)
	}

	a := r.raise("operator over WebSocket")
	waitFor(t, op, 5*time.Second, "the alert on the monitor", findAlert(a.ID)+`?.querySelector('.btn-ack') != null`)
	screenshot(t, op, "ws-alert")
	do(t, op, 10*time.Second, chromedp.Click(chromedp.CSS(alertSel(a.ID)+` .btn-ack`)))
	waitFor(t, op, 5*time.Second, "the acknowledgement back over the WebSocket", `(a => !a || a.dataset.status === 'acknowledged')(`+findAlert(a.ID)+`)`)
	if got := r.alertOf(a.ID); got.AcknowledgedBy != "operator-e2e" {
		t.Errorf("alert after the click: %+v", got)
	}
	if _, _, acks := watch.counts(); acks != 0 || eval[string](t, op, `document.body.dataset.ackVia`) != "ws" {
		t.Errorf("the Acknowledge button: %d POSTs, via %q; want it over the WebSocket", acks, eval[string](t, op, `document.body.dataset.ackVia ?? ''`))
	}

	b := r.raise("operator's own WebSocket")
	waitFor(t, op, 5*time.Second, "the second alert", findAlert(b.ID)+` != null`)
	reply := evalAsync[string](t, op, `new Promise((resolve, reject) => {
		const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/api/crowd-risk/ws?topics=alerts');
		ws.onopen = () => ws.send(JSON.stringify({ op: 'acknowledge', id: `+jsString(b.ID)+`, requestId: 'e2e' }));
		ws.onmessage = (ev) => { const m = JSON.parse(ev.data); if (m.type === 'reply') { ws.close(); resolve(ev.data); } };
		ws.onclose = (ev) => reject(new Error('closed ' + ev.code));
	})`)
	if !strings.Contains(reply, `"ok":true`) || !strings.Contains(reply, `"requestId":"e2e"`) {
		t.Fatalf("acknowledge over the WebSocket: %s", reply)
	}
	waitFor(t, op, 5*time.Second, "the second acknowledgement on the monitor", `(a => !a || a.dataset.status === 'acknowledged')(`+findAlert(b.ID)+`)`)
	if got := r.alertOf(b.ID); got.AcknowledgedBy != "operator-e2e" {
		t.Errorf("alert after the WebSocket acknowledgement: %+v", got)
	}
}

// evalAsync evaluates an expression whose value is a promise.
func evalAsync[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	return v
}
