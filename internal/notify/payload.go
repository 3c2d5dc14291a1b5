package notify

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// Headers of a webhook delivery (docs/notifications.md).
const (
	HeaderSignature = "X-CrowdRisk-Signature" // "sha256=" + hex HMAC-SHA256 of the raw body
	HeaderDelivery  = "X-CrowdRisk-Delivery"  // the delivery id, the same on every attempt
	HeaderTimestamp = "X-CrowdRisk-Timestamp" // unix seconds of this attempt, = the body's sentAt
)

// Change kinds, the "change" of a payload.
const (
	ChangeRaise       = "raise"       // a new alert
	ChangeEscalate    = "escalate"    // the alert's level went up
	ChangeDeescalate  = "deescalate"  // the alert's level went down
	ChangeAcknowledge = "acknowledge" // an operator acknowledged it
	ChangeResolve     = "resolve"     // it is over
	ChangeMute        = "mute"        // a zone's emergency inhibits it
	ChangeUnmute      = "unmute"      // no longer inhibited
	ChangeRenotify    = "renotify"    // re-notified after the minimum gap
	ChangeUpdate      = "update"      // anything else (density, message)
	// ChangeEscalation goes to escalation receivers only: nobody
	// acknowledged a critical or emergency alert in time.
	ChangeEscalation = "escalation"
)

// Payload is the JSON body of a webhook delivery. Everything but SentAt and
// Attempt is fixed when the change is queued; those two are set at each
// attempt, inside the signed body, so that a receiver can refuse a replay
// of an old request (see docs/notifications.md).
type Payload struct {
	DeliveryID string `json:"deliveryId"`
	Change     string `json:"change"`
	// At is when the engine committed the change (ms since epoch).
	At int64 `json:"at"`
	// EventID is the id of the alert-stream event that carried the change.
	EventID string `json:"eventId,omitempty"`
	// Alert is the whole alert after the change, as the API returns it.
	Alert json.RawMessage `json:"alert"`
	// PreviousLevel is the level before an escalate or deescalate.
	PreviousLevel *crowd.Level `json:"previousLevel,omitempty"`
	Escalation    *Escalation  `json:"escalation,omitempty"`
	SentAt        int64        `json:"sentAt"` // unix seconds of this attempt
	Attempt       int          `json:"attempt"`
}

// Escalation says why an escalation was sent.
type Escalation struct {
	Level        crowd.Level `json:"level"`
	AfterSeconds float64     `json:"afterSeconds"` // the configured time without acknowledgement
	Message      string      `json:"message"`
}

// Sign is the X-CrowdRisk-Signature of body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header in constant time.
func Verify(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

func newDeliveryID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "dl_" + hex.EncodeToString(b[:])
}

// amAlert is one alert of Alertmanager's POST /api/v2/alerts.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// severity maps a level onto the severity label routes usually match.
func severity(l crowd.Level) string {
	switch {
	case l >= crowd.Critical:
		return "critical"
	case l == crowd.Warning:
		return "warning"
	}
	return "info"
}

func rfc3339(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

// amAlerts renders an alert for Alertmanager. Alertmanager identifies an
// alert by its labels, so when the level (a label) changed, the alert under
// its old level is resolved in the same request; otherwise it would stay
// firing there until its resolve timeout. An open alert has no endsAt:
// Alertmanager then resolves it after its resolve_timeout unless it is
// sent again, which the notifier does every --alertmanager-resend.
func amAlerts(a crowd.Alert, prev *crowd.Level, escalation *Escalation, generatorURL string, now time.Time) []amAlert {
	labels := func(l crowd.Level) map[string]string {
		m := map[string]string{"alertname": "CrowdRisk", "alert_id": a.ID, "zone": a.ZoneID,
			"level": l.String(), "kind": string(a.Kind), "severity": severity(l)}
		if a.SensorID != "" {
			m["sensor"] = a.SensorID
		}
		return m
	}
	ann := map[string]string{"message": a.Message, "status": string(a.Status)}
	if a.AcknowledgedBy != "" {
		ann["acknowledged_by"] = a.AcknowledgedBy
	}
	if a.Muted {
		ann["muted"] = a.MutedReason
	}
	if escalation != nil {
		ann["escalation"] = escalation.Message
	}
	cur := amAlert{Labels: labels(a.Level), Annotations: ann, StartsAt: rfc3339(a.Timestamp), GeneratorURL: generatorURL}
	if a.Status == crowd.StatusResolved {
		cur.EndsAt = rfc3339(max(a.ResolvedAt, a.Timestamp))
	}
	out := []amAlert{cur}
	if prev != nil && *prev != a.Level {
		old := cur
		old.Labels = labels(*prev)
		old.EndsAt = now.UTC().Format(time.RFC3339Nano)
		out = append([]amAlert{old}, out...)
	}
	return out
}

// generatorURL links an alert back to the dashboard.
func generatorURL(dashboard string, a crowd.Alert) string {
	if dashboard == "" {
		return ""
	}
	sep := "?"
	if strings.Contains(dashboard, "?") {
		sep = "&"
	}
	return dashboard + sep + "alert=" + a.ID
}
