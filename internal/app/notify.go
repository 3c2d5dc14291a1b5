package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/cluster"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/notify"
	"github.com/crowdrisk/crowdrisk/web"
)

// NotifyConfig is the notification part of Config (docs/notifications.md).
type NotifyConfig struct {
	Webhooks           []string // --webhook URL, repeatable
	EscalationWebhooks []string // --escalation-webhook URL, repeatable
	WebhooksFile       string   // --webhooks FILE
	// WebhookSecret (environment only: CROWDRISK_WEBHOOK_SECRET) keys the
	// signatures. Without it the engine refuses to notify unless
	// WebhookUnsigned says that unsigned requests are wanted.
	WebhookSecret      string
	WebhookUnsigned    bool
	WebhookRetryFor    time.Duration
	WebhookTimeout     time.Duration
	WebhookQueueMax    int
	EscalateCritical   time.Duration
	EscalateEmergency  time.Duration
	AlertmanagerResend time.Duration
	// PublicURL is the engine's address as receivers' readers reach it,
	// for the links in notifications; default http://<--addr>.
	PublicURL string
}

func defaultNotifyConfig() NotifyConfig {
	return NotifyConfig{
		WebhookRetryFor: 24 * time.Hour, WebhookTimeout: 10 * time.Second, WebhookQueueMax: 100000,
		EscalateCritical: 5 * time.Minute, EscalateEmergency: 2 * time.Minute, AlertmanagerResend: time.Minute,
	}
}

// listFlag is a repeatable flag; its environment variable holds the values
// separated by spaces.
type listFlag struct{ p *[]string }

func (l listFlag) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, " ")
}

func (l listFlag) Set(v string) error { *l.p = append(*l.p, v); return nil }

func (e *envFlags) list(p *[]string, name, usage string) {
	if _, v, ok := e.env(name); ok {
		*p = strings.Fields(v)
	}
	set := false
	e.fs.Func(name, usage+" (repeatable) [$"+envKey(name)+", space-separated]", func(v string) error {
		if !set { // the command line replaces the environment's list
			*p, set = nil, true
		}
		return listFlag{p}.Set(v)
	})
}

// notifyFlags registers the notification flags.
func notifyFlags(e *envFlags, c *NotifyConfig, getenv func(string) string) {
	e.list(&c.Webhooks, "webhook", "POST every alert change, signed, to this URL")
	e.list(&c.EscalationWebhooks, "escalation-webhook", "POST escalations (unacknowledged critical/emergency alerts) to this URL")
	e.str(&c.WebhooksFile, "webhooks", "JSON file of receivers with filters, escalation flag, type webhook or alertmanager (docs/notifications.md)")
	e.boolean(&c.WebhookUnsigned, "webhook-unsigned", "allow notifications without CROWDRISK_WEBHOOK_SECRET (unsigned requests)")
	e.duration(&c.WebhookRetryFor, "webhook-retry-for", "how long a failing delivery is retried before it is given up")
	e.duration(&c.WebhookTimeout, "webhook-timeout", "time a receiver has to answer one delivery")
	e.int(&c.WebhookQueueMax, "webhook-queue-max", "undelivered deliveries kept per receiver; beyond, the oldest are dropped")
	e.duration(&c.EscalateCritical, "escalate-critical", "escalate a critical alert not acknowledged within this time (0: never)")
	e.duration(&c.EscalateEmergency, "escalate-emergency", "escalate an emergency alert not acknowledged within this time (0: never)")
	e.duration(&c.AlertmanagerResend, "alertmanager-resend", "how often open alerts are sent again to Alertmanager receivers (keep below its resolve_timeout)")
	e.str(&c.PublicURL, "public-url", "the engine's URL as people reach it, for links in notifications (default http://<addr>)")
	c.WebhookSecret = getenv("CROWDRISK_WEBHOOK_SECRET")
}

// validate checks what a flag parser cannot.
func (c NotifyConfig) validate() error {
	switch {
	case !c.enabled():
		return nil
	case c.WebhookSecret == "" && !c.WebhookUnsigned:
		return fmt.Errorf("notifications need CROWDRISK_WEBHOOK_SECRET to sign them (or --webhook-unsigned to send them unsigned)")
	case c.WebhookSecret != "" && len(c.WebhookSecret) < 16:
		return fmt.Errorf("CROWDRISK_WEBHOOK_SECRET must be at least 16 bytes")
	case c.WebhookRetryFor <= 0 || c.WebhookTimeout <= 0 || c.WebhookQueueMax <= 0 || c.AlertmanagerResend <= 0:
		return fmt.Errorf("--webhook-retry-for, --webhook-timeout, --webhook-queue-max and --alertmanager-resend must be positive")
	case c.EscalateCritical < 0 || c.EscalateEmergency < 0:
		return fmt.Errorf("--escalate-critical and --escalate-emergency must not be negative")
	}
	return nil
}

func (c NotifyConfig) enabled() bool {
	return len(c.Webhooks) > 0 || len(c.EscalationWebhooks) > 0 || c.WebhooksFile != ""
}

// receivers gathers the receivers of the flags and the file.
func (c NotifyConfig) receivers() ([]notify.Receiver, error) {
	var rs []notify.Receiver
	for _, u := range c.Webhooks {
		rs = append(rs, notify.FromURL(u, false))
	}
	for _, u := range c.EscalationWebhooks {
		rs = append(rs, notify.FromURL(u, true))
	}
	if c.WebhooksFile != "" {
		f, err := notify.LoadFile(c.WebhooksFile)
		if err != nil {
			return nil, err
		}
		rs = append(rs, f...)
	}
	return notify.Validate(rs)
}

// buildNotifier creates the notifier when receivers are configured, after
// the engine (or cluster node) and before anything takes readings.
func (a *App) buildNotifier(ctx context.Context) error {
	c := a.cfg.Notify
	if !c.enabled() {
		return nil
	}
	rs, err := c.receivers()
	if err != nil {
		return err
	}
	q, ok := a.store.(notify.Queue)
	if !ok {
		return fmt.Errorf("notifications: store %T has no webhook queue", a.store)
	}
	base := c.PublicURL
	if base == "" {
		base = "http://" + a.cfg.Addr
	}
	opts := notify.Options{
		Store: q, Receivers: rs, Secret: []byte(c.WebhookSecret), RetryFor: c.WebhookRetryFor, Timeout: c.WebhookTimeout,
		MaxQueue: c.WebhookQueueMax, ResendEvery: c.AlertmanagerResend,
		EscalateAfter: map[crowd.Level]time.Duration{crowd.Critical: c.EscalateCritical, crowd.Emergency: c.EscalateEmergency},
		DashboardURL:  strings.TrimSuffix(base, "/") + web.MonitorPath,
		Registerer:    a.metrics.Registry(), Logger: a.log,
	}
	if a.cluster != nil {
		node := a.cluster.node
		opts.Leader = func() bool { return node.Role() == cluster.RoleLeader }
		opts.RecordIncident = node.RecordIncident
	} else {
		opts.RecordIncident = a.engine.RecordIncident
	}
	if a.notifier, err = notify.New(opts); err != nil {
		return err
	}
	if err := a.notifier.Init(ctx); err != nil {
		return fmt.Errorf("notifications: %w", err)
	}
	if c.WebhookSecret == "" {
		a.log.Warn("--webhook-unsigned: notifications are sent without a signature; receivers cannot tell them from forgeries")
	}
	a.log.Info("notifications on", "receivers", len(rs))
	return nil
}
