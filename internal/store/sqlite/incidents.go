package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

const defaultIncidentLimit = 10000

// Incidents lists the incident log in store order (Seq), oldest first.
func (s *Store) Incidents(ctx context.Context, f store.IncidentFilter) ([]crowd.Incident, error) {
	where := []string{"seq > ?"}
	args := []any{f.After}
	if f.ZoneID != "" {
		where = append(where, "zone_id = ?")
		args = append(args, f.ZoneID)
	}
	if f.Since != 0 {
		where = append(where, "ts >= ?")
		args = append(args, f.Since)
	}
	if f.Until != 0 {
		where = append(where, "ts < ?")
		args = append(args, f.Until)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultIncidentLimit
	}
	args = append(args, limit)
	rows, err := s.read.QueryContext(ctx, `SELECT seq, ts, kind, zone_id, alert_id, level, actor, message
		FROM incidents WHERE `+strings.Join(where, " AND ")+" ORDER BY seq LIMIT ?", args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: incidents: %w", err)
	}
	defer rows.Close()
	out := []crowd.Incident{}
	for rows.Next() {
		var (
			in    crowd.Incident
			kind  string
			level sql.NullString
		)
		if err := rows.Scan(&in.Seq, &in.Timestamp, &kind, &in.ZoneID, &in.AlertID, &level, &in.Actor, &in.Message); err != nil {
			return nil, fmt.Errorf("sqlite: incidents: %w", err)
		}
		in.Kind = crowd.IncidentKind(kind)
		if level.Valid {
			l, err := crowd.ParseLevel(level.String)
			if err != nil {
				return nil, fmt.Errorf("sqlite: incident %d: %w", in.Seq, err)
			}
			in.Level = &l
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: incidents: %w", err)
	}
	return out, nil
}
