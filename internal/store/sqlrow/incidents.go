package sqlrow

import (
	"fmt"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// IncidentsQuery selects the incident log of f in store order (Seq).
func IncidentsQuery(f store.IncidentFilter, ph Placeholder) (string, []any) {
	q := query{ph: ph}
	q.where = append(q.where, "seq > "+q.arg(f.After))
	if f.ZoneID != "" {
		q.where = append(q.where, "zone_id = "+q.arg(f.ZoneID))
	}
	if f.Since != 0 {
		q.where = append(q.where, "ts >= "+q.arg(f.Since))
	}
	if f.Until != 0 {
		q.where = append(q.where, "ts < "+q.arg(f.Until))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultIncidentLimit
	}
	return "SELECT seq, ts, kind, zone_id, alert_id, level, actor, message FROM incidents" +
		q.whereClause() + " ORDER BY seq LIMIT " + q.arg(limit), q.args
}

// ScanIncident reads a row of IncidentsQuery through scan.
func ScanIncident(scan func(dest ...any) error) (crowd.Incident, error) {
	var (
		in    crowd.Incident
		kind  string
		level *string
	)
	if err := scan(&in.Seq, &in.Timestamp, &kind, &in.ZoneID, &in.AlertID, &level, &in.Actor, &in.Message); err != nil {
		return in, err
	}
	in.Kind = crowd.IncidentKind(kind)
	if level != nil {
		l, err := crowd.ParseLevel(*level)
		if err != nil {
			return in, fmt.Errorf("incident %d: %w", in.Seq, err)
		}
		in.Level = &l
	}
	return in, nil
}

// IncidentLevel is an incident's level as stored (NULL when it has none).
func IncidentLevel(in crowd.Incident) *string {
	if in.Level == nil {
		return nil
	}
	name := in.Level.String()
	return &name
}
