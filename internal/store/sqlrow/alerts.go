package sqlrow

import (
	"fmt"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// alertColumns is the column order of AlertArgs and ScanAlert.
var alertColumns = []string{"id", "zone_id", "level", "kind", "message", "density", "raised_at", "status",
	"updated_at", "acknowledged_by", "acknowledged_at", "resolved_at", "muted", "muted_reason", "notifications", "sensor_id"}

// AlertColumns lists them for a SELECT.
var AlertColumns = strings.Join(alertColumns, ", ")

// UpsertAlert inserts an alert or replaces the stored one whole; its
// arguments are AlertArgs. Both dialects spell the upsert alike.
func UpsertAlert(ph Placeholder) string {
	vals := make([]string, len(alertColumns))
	var set []string
	for i, c := range alertColumns {
		vals[i] = ph(i + 1)
		if c != "id" {
			set = append(set, c+" = excluded."+c)
		}
	}
	return "INSERT INTO alerts (" + AlertColumns + ") VALUES (" + strings.Join(vals, ", ") +
		") ON CONFLICT (id) DO UPDATE SET " + strings.Join(set, ", ")
}

// AlertArgs are an alert's values in column order.
func AlertArgs(a crowd.Alert) []any {
	return []any{a.ID, a.ZoneID, a.Level.String(), string(a.Kind), a.Message, a.Density, a.Timestamp,
		string(a.Status), a.UpdatedAt, a.AcknowledgedBy, a.AcknowledgedAt, a.ResolvedAt, a.Muted,
		a.MutedReason, a.Notifications, a.SensorID}
}

// ScanAlert reads a row of AlertColumns through scan (a Row's Scan).
func ScanAlert(scan func(dest ...any) error) (crowd.Alert, error) {
	var (
		a                   crowd.Alert
		level, kind, status string
	)
	if err := scan(&a.ID, &a.ZoneID, &level, &kind, &a.Message, &a.Density, &a.Timestamp, &status,
		&a.UpdatedAt, &a.AcknowledgedBy, &a.AcknowledgedAt, &a.ResolvedAt, &a.Muted, &a.MutedReason,
		&a.Notifications, &a.SensorID); err != nil {
		return a, err
	}
	l, err := crowd.ParseLevel(level)
	if err != nil {
		return a, fmt.Errorf("alert %s: %w", a.ID, err)
	}
	a.Level, a.Kind, a.Status = l, crowd.AlertKind(kind), crowd.AlertStatus(status)
	return a, nil
}

// AlertsQuery selects the alerts of f, newest raised first.
func AlertsQuery(f store.AlertFilter, ph Placeholder) (string, []any) {
	q := query{ph: ph}
	if f.Status != "" {
		q.where = append(q.where, "status = "+q.arg(string(f.Status)))
	}
	if f.Open {
		q.where = append(q.where, "status <> 'resolved'")
	}
	if f.ZoneID != "" {
		q.where = append(q.where, "zone_id = "+q.arg(f.ZoneID))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultAlertLimit
	}
	// updated_at and id break ties so that the order is the same on every
	// call, and on both backends, when alerts share a raise time.
	return "SELECT " + AlertColumns + " FROM alerts" + q.whereClause() +
		" ORDER BY raised_at DESC, updated_at DESC, id DESC LIMIT " + q.arg(limit), q.args
}

// AlertQuery selects one alert by id (one argument).
func AlertQuery(ph Placeholder) string {
	return "SELECT " + AlertColumns + " FROM alerts WHERE id = " + ph(1)
}
