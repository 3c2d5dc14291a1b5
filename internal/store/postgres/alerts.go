package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlrow"
)

// Alerts lists the alerts that match f, newest raised first.
func (s *Store) Alerts(ctx context.Context, f store.AlertFilter) ([]crowd.Alert, error) {
	q, args := sqlrow.AlertsQuery(f, sqlrow.Dollar)
	var out []crowd.Alert
	err := s.read(ctx, func(c *pgx.Conn) error {
		out = []crowd.Alert{}
		rows, err := c.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := sqlrow.ScanAlert(rows.Scan)
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
		a, err = sqlrow.ScanAlert(c.QueryRow(ctx, sqlrow.AlertQuery(sqlrow.Dollar), id).Scan)
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
