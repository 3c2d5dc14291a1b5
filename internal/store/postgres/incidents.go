package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlrow"
)

// Incidents lists the incident log in store order (Seq), oldest first.
func (s *Store) Incidents(ctx context.Context, f store.IncidentFilter) ([]crowd.Incident, error) {
	q, args := sqlrow.IncidentsQuery(f, sqlrow.Dollar)
	var out []crowd.Incident
	err := s.read(ctx, func(c *pgx.Conn) error {
		out = []crowd.Incident{}
		rows, err := c.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			in, err := sqlrow.ScanIncident(rows.Scan)
			if err != nil {
				return err
			}
			out = append(out, in)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: incidents: %w", err)
	}
	return out, nil
}
