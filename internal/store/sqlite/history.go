package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlrow"
)

// pointsPerInsert is how many points one INSERT carries (7 parameters
// each, well under SQLite's 32,766).
const pointsPerInsert = 500

var (
	insertPoints = sqlrow.InsertPoints(sqlrow.Question, pointsPerInsert)
	upsertMinute = sqlrow.UpsertMinute(sqlrow.Question, "MIN", "MAX")
	upsertLatest = sqlrow.UpsertLatest(sqlrow.Question)
)

// WriteHistory applies a history batch in one transaction on the single
// writer: one fsync for a second's worth of readings, not one each.
func (s *Store) WriteHistory(ctx context.Context, b store.HistoryBatch) error {
	if b.Empty() {
		return nil
	}
	if err := sqlrow.ValidateHistory(b); err != nil {
		return err
	}
	if err := s.checkFile(ctx); err != nil {
		return err
	}
	tx, err := s.wr().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: history: %w", explain(s.path, err))
	}
	defer tx.Rollback()
	if err := writeHistory(ctx, tx, b); err != nil {
		return fmt.Errorf("sqlite: history: %w", explain(s.path, err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: history: %w", explain(s.path, err))
	}
	return nil
}

func writeHistory(ctx context.Context, tx *sql.Tx, b store.HistoryBatch) error {
	// Many rows per statement, prepared once per batch: the driver's cost
	// per Exec and the parse, not SQLite's per row, limit a second's worth
	// of readings.
	var full *sql.Stmt
	for rest := b.Points; len(rest) > 0; {
		n := min(len(rest), pointsPerInsert)
		args := make([]any, 0, n*7)
		for _, p := range rest[:n] {
			args = append(args, sqlrow.PointArgs(p)...)
		}
		var err error
		if n == pointsPerInsert {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertPoints); err != nil {
					return fmt.Errorf("points: %w", err)
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, sqlrow.InsertPoints(sqlrow.Question, n), args...)
		}
		if err != nil {
			return fmt.Errorf("points: %w", err)
		}
		rest = rest[n:]
	}
	for _, m := range b.Minutes {
		if _, err := tx.ExecContext(ctx, upsertMinute, sqlrow.MinuteArgs(m)...); err != nil {
			return fmt.Errorf("minute %s@%d: %w", m.ZoneID, m.Minute, err)
		}
	}
	for _, r := range b.Latest {
		args, err := sqlrow.LatestArgs(r)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, upsertLatest, args...); err != nil {
			return fmt.Errorf("latest %s: %w", r.ZoneID, err)
		}
	}
	return nil
}

// DensityPoints lists a zone's points in the filter's range, oldest first.
func (s *Store) DensityPoints(ctx context.Context, f store.HistoryFilter) ([]store.DensityPoint, error) {
	q, args := sqlrow.PointsQuery(f, sqlrow.Question)
	out, err := query(ctx, s.rd(), q, args, sqlrow.ScanPoint)
	if err != nil {
		return nil, fmt.Errorf("sqlite: density points: %w", err)
	}
	return out, nil
}

// DensityMinutes lists a zone's minute rows in the filter's range.
func (s *Store) DensityMinutes(ctx context.Context, f store.HistoryFilter) ([]store.DensityMinute, error) {
	q, args := sqlrow.MinutesQuery(f, sqlrow.Question)
	out, err := query(ctx, s.rd(), q, args, sqlrow.ScanMinute)
	if err != nil {
		return nil, fmt.Errorf("sqlite: density minutes: %w", err)
	}
	return out, nil
}

// LatestReadings returns every zone's last written reading.
func (s *Store) LatestReadings(ctx context.Context) ([]crowd.DensityReading, error) {
	out, err := query(ctx, s.rd(), "SELECT data FROM density_latest ORDER BY zone_id", nil,
		func(scan func(...any) error) (crowd.DensityReading, error) {
			var data string
			if err := scan(&data); err != nil {
				return crowd.DensityReading{}, err
			}
			return sqlrow.ScanLatest(data)
		})
	if err != nil {
		return nil, fmt.Errorf("sqlite: latest readings: %w", err)
	}
	return out, nil
}

// PruneHistory deletes points and minute rows beyond their retention, zone
// by zone, so each delete walks the (zone, time) index instead of the table.
func (s *Store) PruneHistory(ctx context.Context, pointsBefore, minutesBefore int64) error {
	zones, err := query(ctx, s.rd(), `SELECT DISTINCT zone_id FROM density_minutes
		UNION SELECT zone_id FROM density_latest`, nil,
		func(scan func(...any) error) (z string, err error) { err = scan(&z); return })
	if err != nil {
		return fmt.Errorf("sqlite: prune history: %w", err)
	}
	for _, z := range zones {
		// A transaction per zone: the single writer is held briefly, so a
		// commit of an alert never waits behind a long prune.
		for _, q := range []struct {
			sql string
			cut int64
		}{
			{"DELETE FROM density_points WHERE zone_id = ? AND at < ?", pointsBefore},
			{"DELETE FROM density_minutes WHERE zone_id = ? AND minute < ?", minutesBefore},
		} {
			if _, err := s.wr().ExecContext(ctx, q.sql, z, q.cut); err != nil {
				return fmt.Errorf("sqlite: prune history: %w", explain(s.path, err))
			}
		}
	}
	return nil
}

// query runs a read and scans every row with scan.
func query[T any](ctx context.Context, db *sql.DB, q string, args []any, scan func(func(...any) error) (T, error)) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
