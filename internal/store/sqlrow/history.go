package sqlrow

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// The density history's statements, shared by both backends.

// InsertPoints stores n density points in one statement.
func InsertPoints(ph Placeholder, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO density_points (zone_id, at, density, smoothed, level, sensors, no_data) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for j := range 7 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(ph(i*7 + j + 1))
		}
		b.WriteString(")")
	}
	return b.String()
}

// PointArgs are one point's arguments of InsertPoints, in its column order.
func PointArgs(p store.DensityPoint) []any {
	return []any{p.ZoneID, p.At, p.Density, p.Smoothed, int(p.Level), p.Sensors, p.NoData}
}

// UpsertMinute merges a minute row into the stored one. least and greatest
// are the dialect's two-argument min and max (SQLite: MIN, MAX;
// PostgreSQL: LEAST, GREATEST).
func UpsertMinute(ph Placeholder, least, greatest string) string {
	args := make([]any, 12)
	for i := range args {
		args[i] = ph(i + 1)
	}
	return fmt.Sprintf(`INSERT INTO density_minutes (zone_id, minute, n, density_min, density_max, density_sum,
		smoothed_min, smoothed_max, smoothed_sum, level, sensors_min, sensors_max)
		VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
		ON CONFLICT (zone_id, minute) DO UPDATE SET
			n = density_minutes.n + excluded.n,
			density_min = %[13]s(density_minutes.density_min, excluded.density_min),
			density_max = %[14]s(density_minutes.density_max, excluded.density_max),
			density_sum = density_minutes.density_sum + excluded.density_sum,
			smoothed_min = %[13]s(density_minutes.smoothed_min, excluded.smoothed_min),
			smoothed_max = %[14]s(density_minutes.smoothed_max, excluded.smoothed_max),
			smoothed_sum = density_minutes.smoothed_sum + excluded.smoothed_sum,
			level = %[14]s(density_minutes.level, excluded.level),
			sensors_min = %[13]s(density_minutes.sensors_min, excluded.sensors_min),
			sensors_max = %[14]s(density_minutes.sensors_max, excluded.sensors_max)`,
		append(args, least, greatest)...)
}

// MinuteArgs are UpsertMinute's arguments.
func MinuteArgs(m store.DensityMinute) []any {
	return []any{m.ZoneID, m.Minute, m.Count, m.DensityMin, m.DensityMax, m.DensitySum,
		m.SmoothedMin, m.SmoothedMax, m.SmoothedSum, int(m.Level), m.SensorsMin, m.SensorsMax}
}

// UpsertLatest replaces a zone's last reading, unless the stored one is
// newer (a late write must not take a zone back in time).
func UpsertLatest(ph Placeholder) string {
	return fmt.Sprintf(`INSERT INTO density_latest (zone_id, at, data) VALUES (%s, %s, %s)
		ON CONFLICT (zone_id) DO UPDATE SET at = excluded.at, data = excluded.data
		WHERE density_latest.at <= excluded.at`, ph(1), ph(2), ph(3))
}

// LatestArgs are UpsertLatest's arguments.
func LatestArgs(r crowd.DensityReading) ([]any, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("latest reading of %s: %w", r.ZoneID, err)
	}
	return []any{r.ZoneID, r.Timestamp, string(b)}, nil
}

// ScanLatest reads a density_latest data column.
func ScanLatest(data string) (crowd.DensityReading, error) {
	var r crowd.DensityReading
	err := json.Unmarshal([]byte(data), &r)
	return r, err
}

// PointsQuery selects a zone's points in [From, To), oldest first.
func PointsQuery(f store.HistoryFilter, ph Placeholder) (string, []any) {
	return fmt.Sprintf(`SELECT zone_id, at, density, smoothed, level, sensors, no_data FROM density_points
		WHERE zone_id = %s AND at >= %s AND at < %s ORDER BY at LIMIT %s`, ph(1), ph(2), ph(3), ph(4)),
		[]any{f.ZoneID, f.From, f.To, historyLimit(f)}
}

// ScanPoint reads a row of PointsQuery.
func ScanPoint(scan func(...any) error) (store.DensityPoint, error) {
	var (
		p     store.DensityPoint
		level int
	)
	err := scan(&p.ZoneID, &p.At, &p.Density, &p.Smoothed, &level, &p.Sensors, &p.NoData)
	p.Level = crowd.Level(level)
	return p, err
}

// MinutesQuery selects a zone's minute rows that start in [From, To),
// oldest first.
func MinutesQuery(f store.HistoryFilter, ph Placeholder) (string, []any) {
	return fmt.Sprintf(`SELECT zone_id, minute, n, density_min, density_max, density_sum,
		smoothed_min, smoothed_max, smoothed_sum, level, sensors_min, sensors_max FROM density_minutes
		WHERE zone_id = %s AND minute >= %s AND minute < %s ORDER BY minute LIMIT %s`, ph(1), ph(2), ph(3), ph(4)),
		[]any{f.ZoneID, f.From, f.To, historyLimit(f)}
}

// ScanMinute reads a row of MinutesQuery.
func ScanMinute(scan func(...any) error) (store.DensityMinute, error) {
	var (
		m     store.DensityMinute
		level int
	)
	err := scan(&m.ZoneID, &m.Minute, &m.Count, &m.DensityMin, &m.DensityMax, &m.DensitySum,
		&m.SmoothedMin, &m.SmoothedMax, &m.SmoothedSum, &level, &m.SensorsMin, &m.SensorsMax)
	m.Level = crowd.Level(level)
	return m, err
}

func historyLimit(f store.HistoryFilter) int {
	if f.Limit <= 0 {
		return store.DefaultHistoryLimit
	}
	return f.Limit
}

// ValidateHistory refuses what could not be read back: a point, minute or
// reading without a zone, or with an unknown level.
func ValidateHistory(b store.HistoryBatch) error {
	for _, p := range b.Points {
		if p.ZoneID == "" || !validLevel(p.Level) {
			return crowd.Invalidf("points", "point of zone %q at %d has level %v", p.ZoneID, p.At, p.Level)
		}
	}
	for _, m := range b.Minutes {
		if m.ZoneID == "" || !validLevel(m.Level) || m.Count <= 0 || m.Minute%60000 != 0 {
			return crowd.Invalidf("minutes", "minute of zone %q at %d (%d readings, level %v)", m.ZoneID, m.Minute, m.Count, m.Level)
		}
	}
	for _, r := range b.Latest {
		if r.ZoneID == "" {
			return crowd.Invalidf("latest", "a latest reading needs a zone")
		}
	}
	return nil
}
