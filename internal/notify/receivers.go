package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// Receiver types.
const (
	TypeWebhook      = "webhook"      // the signed JSON payload of docs/notifications.md
	TypeAlertmanager = "alertmanager" // POST <url>/api/v2/alerts, Alertmanager's own format
)

// Receiver is one destination of notifications, as written in the
// --webhooks file.
type Receiver struct {
	// Name identifies the receiver in the queue, the metrics and the
	// status: keep it stable, a renamed receiver loses its backlog.
	Name string `json:"name"`
	URL  string `json:"url"`
	Type string `json:"type,omitempty"` // webhook (default) or alertmanager
	// MinLevel: only alerts at this level or above ("" for all).
	MinLevel string `json:"minLevel,omitempty"`
	// Kinds and Zones, when not empty, only let these alert kinds and
	// zones through.
	Kinds []crowd.AlertKind `json:"kinds,omitempty"`
	Zones []string          `json:"zones,omitempty"`
	// Escalation marks an escalation receiver: it gets the escalation of a
	// critical or emergency alert nobody acknowledged in time, then every
	// later change of that alert (so a pager learns it was handled), and
	// nothing else.
	Escalation bool `json:"escalation,omitempty"`

	minLevel crowd.Level
}

// File is the --webhooks file.
type File struct {
	Receivers []Receiver `json:"receivers"`
}

// LoadFile reads a --webhooks file. Unknown fields are refused, so a typo
// in a filter does not silently notify everyone.
func LoadFile(path string) ([]Receiver, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--webhooks: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("--webhooks %s: %w", path, err)
	}
	return f.Receivers, nil
}

// FromURL is a receiver of --webhook URL (every change, no filter) or, with
// escalation, of --escalation-webhook URL. Its name is derived from the URL
// (without credentials, which must not end up in metrics).
func FromURL(raw string, escalation bool) Receiver {
	name := raw
	if u, err := url.Parse(raw); err == nil {
		u.User = nil
		u.RawQuery = ""
		name = u.String()
	}
	if escalation {
		name = "escalation:" + name
	}
	return Receiver{Name: name, URL: raw, Escalation: escalation}
}

// Validate checks every receiver and fills the defaults.
func Validate(rs []Receiver) ([]Receiver, error) {
	out := make([]Receiver, 0, len(rs))
	seen := map[string]bool{}
	for i, r := range rs {
		where := fmt.Sprintf("receiver %d (%q)", i, r.Name)
		if r.Name == "" {
			return nil, fmt.Errorf("%s: name is required", where)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("%s: name used twice", where)
		}
		seen[r.Name] = true
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s: url must be an http:// or https:// URL", where)
		}
		switch r.Type {
		case "":
			r.Type = TypeWebhook
		case TypeWebhook, TypeAlertmanager:
		default:
			return nil, fmt.Errorf("%s: type must be webhook or alertmanager", where)
		}
		if r.MinLevel != "" {
			if r.minLevel, err = crowd.ParseLevel(r.MinLevel); err != nil {
				return nil, fmt.Errorf("%s: minLevel: %w", where, err)
			}
		}
		r.Kinds, r.Zones = slices.Clone(r.Kinds), slices.Clone(r.Zones)
		out = append(out, r)
	}
	return out, nil
}

// accepts reports whether the receiver's filters let the alert through.
func (r *Receiver) accepts(a crowd.Alert) bool {
	return a.Level >= r.minLevel &&
		(len(r.Kinds) == 0 || slices.Contains(r.Kinds, a.Kind)) &&
		(len(r.Zones) == 0 || slices.Contains(r.Zones, a.ZoneID))
}
