package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

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
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(string(f.Status)))
	}
	if f.Open {
		where = append(where, "status <> 'resolved'")
	}
	if f.ZoneID != "" {
		where = append(where, "zone_id = "+arg(f.ZoneID))
	}
	q := "SELECT " + alertColumns + " FROM alerts"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAlertLimit
	}
	// The same tie-breakers as the SQLite backend, so both order alike.
	q += " ORDER BY raised_at DESC, updated_at DESC, id DESC LIMIT " + arg(limit)
	var out []crowd.Alert
	err := s.read(ctx, func(c *pgx.Conn) error {
		out = []crowd.Alert{}
		rows, err := c.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAlert(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: alerts: %w", err)
	}
	return out, nil
}

// Alert returns one alert by id.
func (s *Store) Alert(ctx context.Context, id string) (crowd.Alert, error) {
	var a crowd.Alert
	err := s.read(ctx, func(c *pgx.Conn) (err error) {
		a, err = scanAlert(c.QueryRow(ctx, "SELECT "+alertColumns+" FROM alerts WHERE id = $1", id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return crowd.Alert{}, &crowd.Error{Code: crowd.ErrNotFound, Field: "id", Message: fmt.Sprintf("no alert with id %q", id)}
	}
	if err != nil {
		return crowd.Alert{}, fmt.Errorf("postgres: alert %s: %w", id, err)
	}
	return a, nil
}

func scanAlert(r pgx.Row) (crowd.Alert, error) {
	var (
		a                   crowd.Alert
		level, kind, status string
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
