package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlrow"
)

// Alerts lists the alerts that match f, newest raised first.
func (s *Store) Alerts(ctx context.Context, f store.AlertFilter) ([]crowd.Alert, error) {
	q, args := sqlrow.AlertsQuery(f, sqlrow.Question)
	rows, err := s.rd().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: alerts: %w", err)
	}
	defer rows.Close()
	out := []crowd.Alert{}
	for rows.Next() {
		a, err := sqlrow.ScanAlert(rows.Scan)
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
	a, err := sqlrow.ScanAlert(s.rd().QueryRowContext(ctx, sqlrow.AlertQuery(sqlrow.Question), id).Scan)
	if err == sql.ErrNoRows {
		return crowd.Alert{}, &crowd.Error{Code: crowd.ErrNotFound, Field: "id", Message: fmt.Sprintf("no alert with id %q", id)}
	}
	if err != nil {
		return crowd.Alert{}, fmt.Errorf("sqlite: alert %s: %w", id, err)
	}
	return a, nil
}
