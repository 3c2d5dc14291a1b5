package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of crowdrisk_webhook_deliveries_total.
const (
	outcomeDelivered = "delivered" // 2xx
	outcomeFailed    = "failed"    // an attempt failed; retried
	outcomeExpired   = "expired"   // given up after --webhook-retry-for
	outcomeDropped   = "dropped"   // dropped at the queue bound
)

type metrics struct {
	deliveries  *prometheus.CounterVec
	depth       *prometheus.GaugeVec
	oldest      *prometheus.GaugeVec
	latency     *prometheus.HistogramVec
	escalations *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crowdrisk_webhook_deliveries_total",
			Help: "Webhook delivery attempts by receiver and outcome (delivered, failed and retried, expired after --webhook-retry-for, dropped at the queue bound).",
		}, []string{"receiver", "outcome"}),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "crowdrisk_webhook_queue_depth",
			Help: "Deliveries waiting in the persisted queue, by receiver.",
		}, []string{"receiver"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "crowdrisk_webhook_oldest_undelivered_seconds",
			Help: "Age of the oldest undelivered delivery, by receiver (0 when none).",
		}, []string{"receiver"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crowdrisk_webhook_delivery_seconds",
			Help:    "Time from queueing a change to its successful delivery, by receiver.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400},
		}, []string{"receiver"}),
		escalations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crowdrisk_escalations_total",
			Help: "Alerts escalated because nobody acknowledged them in time, by level.",
		}, []string{"level"}),
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.depth, m.oldest, m.latency, m.escalations} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) outcome(receiver, outcome string, n int) {
	m.deliveries.WithLabelValues(receiver, outcome).Add(float64(n))
}

// ReceiverStatus is one receiver in GET /api/crowd-risk/notifications/status.
// Counters are this instance's since it started; Pending and the oldest age
// are the shared queue's.
type ReceiverStatus struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Escalation bool   `json:"escalation"`
	Pending    int    `json:"pending"`
	// OldestPendingSeconds is the age of the oldest undelivered delivery.
	OldestPendingSeconds float64 `json:"oldestPendingSeconds"`
	Delivered            int64   `json:"delivered"`
	Failed               int64   `json:"failed"`
	Expired              int64   `json:"expired"`
	LastDeliveredAt      int64   `json:"lastDeliveredAt,omitempty"` // ms
	LastError            string  `json:"lastError,omitempty"`
	LastErrorAt          int64   `json:"lastErrorAt,omitempty"` // ms
	// Failing is true while the last attempt failed.
	Failing bool `json:"failing"`
}

// Status is the notifications' state for the dashboard.
type Status struct {
	Enabled   bool             `json:"enabled"`
	Receivers []ReceiverStatus `json:"receivers"`
}

// refreshStats reads the queue's backlog into the gauges and the status.
func (n *Notifier) refreshStats(ctx context.Context) {
	stats, err := n.q.WebhookStats(ctx)
	if err != nil {
		return
	}
	now := n.now()
	byName := map[string][2]float64{}
	for _, s := range stats {
		age := 0.0
		if s.Pending > 0 {
			age = max(0, now.Sub(time.UnixMilli(s.OldestCreatedAt)).Seconds())
		}
		byName[s.Receiver] = [2]float64{float64(s.Pending), age}
	}
	for _, r := range n.receivers {
		v := byName[r.Name]
		n.metrics.depth.WithLabelValues(r.Name).Set(v[0])
		n.metrics.oldest.WithLabelValues(r.Name).Set(v[1])
		r.mu.Lock()
		r.status.Pending, r.status.OldestPendingSeconds = int(v[0]), v[1]
		r.mu.Unlock()
	}
}

// Status returns the state of every receiver.
func (n *Notifier) Status() Status {
	out := Status{Enabled: true, Receivers: []ReceiverStatus{}}
	for _, r := range n.receivers {
		r.mu.Lock()
		s := r.status
		s.Failing = r.failures > 0
		r.mu.Unlock()
		s.Name, s.Type, s.Escalation = r.Name, r.Type, r.Escalation
		out.Receivers = append(out.Receivers, s)
	}
	return out
}

// StatusHandler serves Status as JSON. A nil Notifier (no receivers
// configured) answers {"enabled":false}.
func StatusHandler(n *Notifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := Status{Receivers: []ReceiverStatus{}}
		if n != nil {
			st = n.Status()
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(st)
	})
}
