package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// receiver is a configured receiver with its delivery state.
type receiver struct {
	Receiver
	wake chan struct{}

	mu sync.Mutex
	// failures in a row, and no attempt before pauseUntil: a receiver that
	// is down is probed with the same backoff as its deliveries, not once
	// per waiting alert per poll.
	failures   int
	pauseUntil time.Time
	status     ReceiverStatus
}

// deliverDue sends the receiver's due deliveries, oldest first, one at a
// time (in order per alert: the store only hands out each alert's head).
func (n *Notifier) deliverDue(ctx context.Context, r *receiver) {
	for ctx.Err() == nil {
		r.mu.Lock()
		paused := n.now().Before(r.pauseUntil)
		r.mu.Unlock()
		if paused {
			return
		}
		due, err := n.q.WebhookDue(ctx, r.Name, n.now().UnixMilli(), 50)
		if err != nil {
			if ctx.Err() == nil {
				n.warn("due:"+r.Name, "notifications: reading the queue failed", "receiver", r.Name, "err", err)
			}
			return
		}
		if len(due) == 0 {
			return
		}
		for _, d := range due {
			if !n.attempt(ctx, r, d) {
				return // the receiver is paused now
			}
		}
	}
}

// attempt sends one delivery and records the outcome. It reports success.
func (n *Notifier) attempt(ctx context.Context, r *receiver, d store.WebhookDelivery) bool {
	start := n.now()
	err := n.send(ctx, r, d, d.Attempts+1)
	if ctx.Err() != nil {
		return false // shutting down: the row stays, sent again after the restart
	}
	now := n.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		if derr := n.q.WebhookDone(ctx, d.Seq); derr != nil {
			// Delivered but still queued: it will be sent again (at least
			// once), the receiver dedupes on the delivery id.
			n.log.Warn("notifications: delivered, but removing it from the queue failed", "receiver", r.Name, "err", derr)
		}
		r.failures, r.pauseUntil = 0, time.Time{}
		r.status.Delivered++
		r.status.LastDeliveredAt = now.UnixMilli()
		n.metrics.outcome(r.Name, outcomeDelivered, 1)
		n.metrics.latency.WithLabelValues(r.Name).Observe(now.Sub(time.UnixMilli(d.CreatedAt)).Seconds())
		return true
	}
	r.failures++
	r.status.Failed++
	r.status.LastError, r.status.LastErrorAt = err.Error(), now.UnixMilli()
	wait := backoff(n.opts.BackoffBase, n.opts.BackoffMax, r.failures)
	r.pauseUntil = now.Add(wait)
	if now.Sub(time.UnixMilli(d.CreatedAt)) >= n.opts.RetryFor {
		if derr := n.q.WebhookDone(ctx, d.Seq); derr == nil {
			r.status.Expired++
			n.metrics.outcome(r.Name, outcomeExpired, 1)
			n.log.Error("notifications: gave up a delivery after --webhook-retry-for", "receiver", r.Name,
				"delivery", d.ID, "alert", d.Key, "attempts", d.Attempts+1, "err", err)
		}
		return false
	}
	n.metrics.outcome(r.Name, outcomeFailed, 1)
	dwait := backoff(n.opts.BackoffBase, n.opts.BackoffMax, d.Attempts+1)
	if rerr := n.q.WebhookRetry(ctx, d.Seq, d.Attempts+1, now.Add(dwait).UnixMilli(), err.Error()); rerr != nil {
		n.log.Warn("notifications: recording a failed attempt failed", "receiver", r.Name, "err", rerr)
	}
	level := n.log.Warn
	if r.failures > 1 {
		level = n.log.Debug // one line per outage, not per attempt
	}
	level("notifications: delivery failed; retrying with backoff", "receiver", r.Name, "delivery", d.ID,
		"attempt", d.Attempts+1, "retryIn", wait.Round(time.Millisecond), "took", now.Sub(start).Round(time.Millisecond), "err", err)
	return false
}

// backoff is base·2^(n-1) capped at max, with jitter in [d/2, d] so that
// several engines (or receivers' clients) do not retry in lockstep.
func backoff(base, maxWait time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d/2 + rand.N(d/2+1)
}

// send makes one attempt.
func (n *Notifier) send(ctx context.Context, r *receiver, d store.WebhookDelivery, attempt int) error {
	var p Payload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return fmt.Errorf("queued payload unreadable: %w", err)
	}
	p.SentAt, p.Attempt = n.now().Unix(), attempt
	var body []byte
	var err error
	url := r.URL
	if r.Type == TypeAlertmanager {
		var a crowd.Alert
		if err := json.Unmarshal(p.Alert, &a); err != nil {
			return fmt.Errorf("queued alert unreadable: %w", err)
		}
		url = amURL(r.URL)
		body, err = json.Marshal(amAlerts(a, p.PreviousLevel, p.Escalation, generatorURL(n.opts.DashboardURL, a), n.now()))
	} else {
		body, err = json.Marshal(p)
	}
	if err != nil {
		return err
	}
	return n.post(ctx, url, body, p.DeliveryID, p.SentAt)
}

func amURL(base string) string { return strings.TrimSuffix(base, "/") + "/api/v2/alerts" }

// post sends a signed body and wants a 2xx.
func (n *Notifier) post(ctx context.Context, url string, body []byte, id string, sentAt int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crowdrisk-notify/1")
	req.Header.Set(HeaderDelivery, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(sentAt, 10))
	if len(n.opts.Secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(n.opts.Secret, body))
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	}
	return nil
}

// resend sends every open alert again to each Alertmanager receiver whose
// queue is empty, so Alertmanager keeps them firing (an alert not sent
// again within its resolve_timeout is resolved there). A receiver with
// deliveries waiting gets nothing: the queue goes first, in order, or a
// resend could show an alert firing again that a queued resolve ends.
func (n *Notifier) resend(ctx context.Context) {
	open, err := n.q.Alerts(ctx, store.AlertFilter{Open: true, Limit: 100000})
	if err != nil {
		return
	}
	stats, err := n.q.WebhookStats(ctx)
	if err != nil {
		return
	}
	pending := map[string]int{}
	for _, s := range stats {
		pending[s.Receiver] = s.Pending
	}
	n.mu.Lock()
	escalated := map[string]bool{}
	for id, s := range n.states {
		escalated[id] = s.Escalated >= 0
	}
	n.mu.Unlock()
	for _, r := range n.receivers {
		if r.Type != TypeAlertmanager || pending[r.Name] > 0 {
			continue
		}
		var out []amAlert
		for _, a := range open {
			if r.accepts(a) && (!r.Escalation || escalated[a.ID]) {
				out = append(out, amAlerts(a, nil, nil, generatorURL(n.opts.DashboardURL, a), n.now())...)
			}
		}
		if len(out) == 0 {
			continue
		}
		body, _ := json.Marshal(out)
		if err := n.post(ctx, amURL(r.URL), body, "resend-"+strconv.FormatInt(n.now().UnixMilli(), 10), n.now().Unix()); err != nil && ctx.Err() == nil {
			n.log.Warn("notifications: re-sending open alerts to Alertmanager failed", "receiver", r.Name, "err", err)
		}
	}
}
