package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

const defaultAlertLimit = 1000

const alertColumns = `id, zone_id, level, kind, message, density, raised_at, status, updated_at,
	acknowledged_by, acknowledged_at, resolved_at, muted, muted_reason, notifications`

// Alerts lists the alerts that match f, newest raised first.
func (s *Store) Alerts(ctx context.Context, f store.AlertFilter) ([]crowd.Alert, error) {
	var (
		where []string
		args  []any
	)
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(f.Status))
	}
	if f.Open {
		where = append(where, "status <> 'resolved'")
	}
	if f.ZoneID != "" {
		where = append(where, "zone_id = ?")
		args = append(args, f.ZoneID)
	}
	q := "SELECT " + alertColumns + " FROM alerts"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAlertLimit
	}
	// updated_at and id break ties so that the order is the same on every
	// call (and on both backends) when alerts share a raise time.
	q += " ORDER BY raised_at DESC, updated_at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: alerts: %w", err)
	}
	defer rows.Close()
	out := []crowd.Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: alerts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: alerts: %w", err)
	}
	return out, nil
}

// Alert returns one alert by id.
func (s *Store) Alert(ctx context.Context, id string) (crowd.Alert, error) {
	a, err := scanAlert(s.read.QueryRowContext(ctx, "SELECT "+alertColumns+" FROM alerts WHERE id = ?", id))
	if err == sql.ErrNoRows {
		return crowd.Alert{}, &crowd.Error{Code: crowd.ErrNotFound, Field: "id", Message: fmt.Sprintf("no alert with id %q", id)}
	}
	if err != nil {
		return crowd.Alert{}, fmt.Errorf("sqlite: alert %s: %w", id, err)
	}
	return a, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanAlert(r scanner) (crowd.Alert, error) {
	var (
		a           crowd.Alert
		level, kind string
		status      string
	)
	if err := r.Scan(&a.ID, &a.ZoneID, &level, &kind, &a.Message, &a.Density, &a.Timestamp, &status,
		&a.UpdatedAt, &a.AcknowledgedBy, &a.AcknowledgedAt, &a.ResolvedAt, &a.Muted, &a.MutedReason,
		&a.Notifications); err != nil {
		return a, err
	}
	l, err := crowd.ParseLevel(level)
	if err != nil {
		return a, fmt.Errorf("alert %s: %w", a.ID, err)
	}
	a.Level, a.Kind, a.Status = l, crowd.AlertKind(kind), crowd.AlertStatus(status)
	return a, nil
}
