package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

const defaultIncidentLimit = 10000

// Incidents lists the incident log in store order (Seq), oldest first.
func (s *Store) Incidents(ctx context.Context, f store.IncidentFilter) ([]crowd.Incident, error) {
	args := []any{f.After}
	where := []string{"seq > $1"}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.ZoneID != "" {
		where = append(where, "zone_id = "+arg(f.ZoneID))
	}
	if f.Since != 0 {
		where = append(where, "ts >= "+arg(f.Since))
	}
	if f.Until != 0 {
		where = append(where, "ts < "+arg(f.Until))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultIncidentLimit
	}
	q := `SELECT seq, ts, kind, zone_id, alert_id, level, actor, message
		FROM incidents WHERE ` + strings.Join(where, " AND ") + " ORDER BY seq LIMIT " + arg(limit)
	var out []crowd.Incident
	err := s.read(ctx, func(c *pgx.Conn) error {
		out = []crowd.Incident{}
		rows, err := c.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				in    crowd.Incident
				kind  string
				level *string
			)
			if err := rows.Scan(&in.Seq, &in.Timestamp, &kind, &in.ZoneID, &in.AlertID, &level, &in.Actor, &in.Message); err != nil {
				return err
			}
			in.Kind = crowd.IncidentKind(kind)
			if level != nil {
				l, err := crowd.ParseLevel(*level)
				if err != nil {
					return fmt.Errorf("incident %d: %w", in.Seq, err)
				}
				in.Level = &l
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
