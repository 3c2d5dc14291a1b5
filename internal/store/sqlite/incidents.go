package sqlite

import (
	"context"
	"fmt"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlrow"
)

// Incidents lists the incident log in store order (Seq), oldest first.
func (s *Store) Incidents(ctx context.Context, f store.IncidentFilter) ([]crowd.Incident, error) {
	q, args := sqlrow.IncidentsQuery(f, sqlrow.Question)
	rows, err := s.rd().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: incidents: %w", err)
	}
	defer rows.Close()
	out := []crowd.Incident{}
	for rows.Next() {
		in, err := sqlrow.ScanIncident(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("sqlite: incidents: %w", err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: incidents: %w", err)
	}
	return out, nil
}
