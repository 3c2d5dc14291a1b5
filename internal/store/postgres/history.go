package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlrow"
)

var (
	upsertMinute = sqlrow.UpsertMinute(sqlrow.Dollar, "LEAST", "GREATEST")
	upsertLatest = sqlrow.UpsertLatest(sqlrow.Dollar)
)

var pointColumns = []string{"zone_id", "at", "density", "smoothed", "level", "sensors", "no_data"}

// WriteHistory applies a history batch in one transaction: the points by
// COPY (a second of readings is one stream, not a statement each), the
// minute merges and latest readings as one pipelined batch. It is not run
// twice when the connection is lost during COMMIT (the points would be
// doubled); the caller drops what failed.
func (s *Store) WriteHistory(ctx context.Context, b store.HistoryBatch) error {
	if b.Empty() {
		return nil
	}
	if err := sqlrow.ValidateHistory(b); err != nil {
		return err
	}
	latest := make([][]any, len(b.Latest))
	for i, r := range b.Latest {
		args, err := sqlrow.LatestArgs(r)
		if err != nil {
			return err
		}
		latest[i] = args
	}
	err := s.inTx(ctx, false, func(tx pgx.Tx) error {
		if len(b.Points) > 0 {
			rows := pgx.CopyFromSlice(len(b.Points), func(i int) ([]any, error) { return sqlrow.PointArgs(b.Points[i]), nil })
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"density_points"}, pointColumns, rows); err != nil {
				return fmt.Errorf("points: %w", err)
			}
		}
		batch := &pgx.Batch{}
		for _, m := range b.Minutes {
			batch.Queue(upsertMinute, sqlrow.MinuteArgs(m)...)
		}
		for _, args := range latest {
			batch.Queue(upsertLatest, args...)
		}
		if batch.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("postgres: history: %w", err)
	}
	return nil
}

// DensityPoints lists a zone's points in the filter's range, oldest first.
func (s *Store) DensityPoints(ctx context.Context, f store.HistoryFilter) ([]store.DensityPoint, error) {
	q, args := sqlrow.PointsQuery(f, sqlrow.Dollar)
	out, err := readRows(ctx, s, q, args, sqlrow.ScanPoint)
	if err != nil {
		return nil, fmt.Errorf("postgres: density points: %w", err)
	}
	return out, nil
}

// DensityMinutes lists a zone's minute rows in the filter's range.
func (s *Store) DensityMinutes(ctx context.Context, f store.HistoryFilter) ([]store.DensityMinute, error) {
	q, args := sqlrow.MinutesQuery(f, sqlrow.Dollar)
	out, err := readRows(ctx, s, q, args, sqlrow.ScanMinute)
	if err != nil {
		return nil, fmt.Errorf("postgres: density minutes: %w", err)
	}
	return out, nil
}

// LatestReadings returns every zone's last written reading.
func (s *Store) LatestReadings(ctx context.Context) ([]crowd.DensityReading, error) {
	out, err := readRows(ctx, s, "SELECT data FROM density_latest ORDER BY zone_id", nil,
		func(scan func(...any) error) (crowd.DensityReading, error) {
			var data string
			if err := scan(&data); err != nil {
				return crowd.DensityReading{}, err
			}
			return sqlrow.ScanLatest(data)
		})
	if err != nil {
		return nil, fmt.Errorf("postgres: latest readings: %w", err)
	}
	return out, nil
}

// PruneHistory deletes points and minute rows beyond their retention, zone
// by zone (each delete walks the (zone, time) index, and no statement
// holds its rows for long).
func (s *Store) PruneHistory(ctx context.Context, pointsBefore, minutesBefore int64) error {
	zones, err := readRows(ctx, s, `SELECT DISTINCT zone_id FROM density_minutes
		UNION SELECT zone_id FROM density_latest`, nil,
		func(scan func(...any) error) (z string, err error) { err = scan(&z); return })
	if err != nil {
		return fmt.Errorf("postgres: prune history: %w", err)
	}
	for _, z := range zones {
		// Deleting is idempotent, so a lost connection may run it again.
		err := s.inTx(ctx, true, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "DELETE FROM density_points WHERE zone_id = $1 AND at < $2", z, pointsBefore); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "DELETE FROM density_minutes WHERE zone_id = $1 AND minute < $2", z, minutesBefore)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: prune history: %w", err)
		}
	}
	return nil
}

// readRows runs a read (retried once on a lost connection, see read) and
// scans every row with scan.
func readRows[T any](ctx context.Context, s *Store, q string, args []any, scan func(func(...any) error) (T, error)) ([]T, error) {
	var out []T
	err := s.read(ctx, func(c *pgx.Conn) (err error) {
		out, err = scanRows(ctx, c, q, args, scan)
		return err
	})
	return out, err
}

// scanRows runs a read on c and scans every row with scan.
func scanRows[T any](ctx context.Context, c *pgx.Conn, q string, args []any, scan func(func(...any) error) (T, error)) ([]T, error) {
	rows, err := c.Query(ctx, q, args...)
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
