package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlrow"
)

var upsertAlert = sqlrow.UpsertAlert(sqlrow.Question)

// Commit applies the batch in one transaction on the single writer
// connection: all of it, or nothing.
//
// As on PostgreSQL, a batch with events is idempotent: if all its events
// are stored already (an earlier attempt committed after all, though it
// reported an error), committing it again succeeds without writing. The
// engine retries a refused batch until it goes through; without this, one
// such batch would block its outbox for ever.
func (s *Store) Commit(ctx context.Context, b store.Batch) error {
	if b.Empty() {
		return nil
	}
	// A commit into a file the path no longer names would be lost at the
	// next start: refuse it (health.go).
	if err := s.checkFile(ctx); err != nil {
		return err
	}
	s.checkMu.Lock()
	failed := s.failed
	s.checkMu.Unlock()
	if failed {
		// The last write failed for the file's sake (read-only, full):
		// fresh connections, so that the engine's retry (once a second)
		// succeeds as soon as the file can be written again, not only
		// after the next health check.
		if err := s.reopen(ctx, nil); err != nil {
			return fmt.Errorf("sqlite: reopening after a failed write: %w", err)
		}
		s.setFailed(false)
	}
	err := s.commit(ctx, b)
	if err != nil && len(b.Events) > 0 && strings.Contains(err.Error(), "UNIQUE constraint failed: events.id") {
		if stored, serr := s.eventsStored(ctx, b.Events); serr == nil && stored {
			return nil
		}
	}
	return err
}

func (s *Store) commit(ctx context.Context, b store.Batch) error {
	tx, err := s.wr().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: commit: %w", explain(s.path, err))
	}
	defer tx.Rollback()
	if err := commitBatch(ctx, tx, b); err != nil {
		s.noteWriteFailure(err)
		return fmt.Errorf("sqlite: commit: %w", explain(s.path, err))
	}
	if err := tx.Commit(); err != nil {
		s.noteWriteFailure(err)
		return fmt.Errorf("sqlite: commit: %w", explain(s.path, err))
	}
	return nil
}

// noteWriteFailure marks the pools for a reopen at the next Ping when a
// write failed for the file's sake (read-only, full, I/O): their
// connections may keep the condition after it is fixed.
func (s *Store) noteWriteFailure(err error) {
	msg := err.Error()
	for _, sign := range []string{"readonly", "read-only", "disk is full", "disk I/O", "unable to open"} {
		if strings.Contains(msg, sign) {
			s.setFailed(true)
			return
		}
	}
}

// eventsStored reports whether every one of evs is in the store.
func (s *Store) eventsStored(ctx context.Context, evs []store.StoredEvent) (bool, error) {
	for _, e := range evs {
		var n int
		if err := s.rd().QueryRowContext(ctx, "SELECT COUNT(*) FROM events WHERE id = ?", int64(e.ID)).Scan(&n); err != nil || n == 0 {
			return false, err
		}
	}
	return true, nil
}

func commitBatch(ctx context.Context, tx *sql.Tx, b store.Batch) error {
	if err := sqlrow.Validate(b); err != nil {
		return err
	}
	if b.Fence != 0 {
		// One writer per file makes fencing moot here, but the store
		// contract is the same on both backends (storetest checks it).
		var kept int64
		err := tx.QueryRowContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value <= excluded.value
			RETURNING value`, sqlrow.FenceKey, b.Fence).Scan(&kept)
		if err == sql.ErrNoRows {
			return store.ErrFenced
		}
		if err != nil {
			return fmt.Errorf("fence: %w", err)
		}
	}
	if b.Command != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO commands (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
			b.Command, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("command: %w", err)
		}
	}
	for _, st := range b.Sensors {
		if _, err := tx.ExecContext(ctx, sqlrow.UpsertSensor(sqlrow.Question), st.ZoneID, st.SensorID, st.LastSeen); err != nil {
			return fmt.Errorf("sensor %s/%s: %w", st.ZoneID, st.SensorID, err)
		}
	}
	for _, c := range b.Counters {
		if _, err := tx.ExecContext(ctx, sqlrow.UpsertCounter(sqlrow.Question), c.ZoneID, c.Persons, c.Clamped, c.ResetAt); err != nil {
			return fmt.Errorf("counters of %s: %w", c.ZoneID, err)
		}
	}
	for _, d := range b.Doors {
		if _, err := tx.ExecContext(ctx, sqlrow.UpsertDoor(sqlrow.Question), d.ZoneID, d.SensorID, d.Counted); err != nil {
			return fmt.Errorf("door %s/%s: %w", d.ZoneID, d.SensorID, err)
		}
	}
	for _, a := range b.Alerts {
		if _, err := tx.ExecContext(ctx, upsertAlert, sqlrow.AlertArgs(a)...); err != nil {
			return fmt.Errorf("alert %s: %w", a.ID, err)
		}
	}
	if b.SetEmergency {
		if err := insertEmergency(ctx, tx, b.Emergency); err != nil {
			return fmt.Errorf("emergency: %w", err)
		}
	}
	for _, e := range b.Events {
		if _, err := tx.ExecContext(ctx, "INSERT INTO events (id, topic, type, data, at) VALUES (?, ?, ?, ?, ?)",
			int64(e.ID), string(e.Topic), e.Type, nonNil(e.Data), e.At.UnixMilli()); err != nil {
			return fmt.Errorf("event %s: %w", e.ID, err)
		}
	}
	for _, in := range b.Incidents {
		if _, err := tx.ExecContext(ctx, `INSERT INTO incidents (ts, kind, zone_id, alert_id, level, actor, message)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, in.Timestamp, string(in.Kind), in.ZoneID, in.AlertID,
			sqlrow.IncidentLevel(in), in.Actor, in.Message); err != nil {
			return fmt.Errorf("incident: %w", err)
		}
	}
	if !b.Through.IsZero() {
		if _, err := tx.ExecContext(ctx, upsertMax, throughKey, int64(b.Through)); err != nil {
			return fmt.Errorf("through: %w", err)
		}
	}
	for _, g := range b.Lost {
		if _, err := tx.ExecContext(ctx, upsertMax, lostKey(g.After), int64(g.Before)); err != nil {
			return fmt.Errorf("lost: %w", err)
		}
	}
	return nil
}

// upsertMax raises a meta counter (never lowers it).
const upsertMax = `INSERT INTO meta (key, value) VALUES (?, ?)
	ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)`

func insertEmergency(ctx context.Context, tx *sql.Tx, m *crowd.EmergencyMode) error {
	if m == nil {
		_, err := tx.ExecContext(ctx, "INSERT INTO emergency (ended) VALUES (1)")
		return err
	}
	zones, err := json.Marshal(nonNilStrings(m.ZoneIDs))
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO emergency (ended, active, reason, zone_ids, activated_at, activated_by)
		VALUES (0, ?, ?, ?, ?, ?)`, m.Active, m.Reason, string(zones), m.ActivatedAt, m.ActivatedBy)
	return err
}

// Sensors lists the sensor registry.
func (s *Store) Sensors(ctx context.Context) ([]store.SensorState, error) {
	out, err := query(ctx, s.rd(), sqlrow.SensorsQuery, nil, sqlrow.ScanSensor)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sensors: %w", err)
	}
	return out, nil
}

// Counters lists the door-counter balances and doors.
func (s *Store) Counters(ctx context.Context) ([]store.CounterState, []store.DoorState, error) {
	cs, err := query(ctx, s.rd(), sqlrow.CountersQuery, nil, sqlrow.ScanCounter)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: counters: %w", err)
	}
	ds, err := query(ctx, s.rd(), sqlrow.DoorsQuery, nil, sqlrow.ScanDoor)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: counters: %w", err)
	}
	return cs, ds, nil
}

// CommandDone reports whether a batch with this command key committed.
func (s *Store) CommandDone(ctx context.Context, key string) (bool, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM commands WHERE key = ?", key).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: command: %w", err)
	}
	return n > 0, nil
}

// Emergency returns the newest emergency row, nil when it ended (or none).
func (s *Store) Emergency(ctx context.Context) (*crowd.EmergencyMode, error) {
	var (
		ended bool
		m     crowd.EmergencyMode
		zones string
	)
	err := s.rd().QueryRowContext(ctx, `SELECT ended, active, reason, zone_ids, activated_at, activated_by
		FROM emergency ORDER BY seq DESC LIMIT 1`).Scan(&ended, &m.Active, &m.Reason, &zones, &m.ActivatedAt, &m.ActivatedBy)
	if err == sql.ErrNoRows || (err == nil && ended) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: emergency: %w", err)
	}
	if err := json.Unmarshal([]byte(zones), &m.ZoneIDs); err != nil {
		return nil, fmt.Errorf("sqlite: emergency zone ids: %w", err)
	}
	return &m, nil
}

// nonNil keeps a NOT NULL column happy with an empty payload.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nonNilStrings makes an emergency without zones read back as [] (JSON
// "zoneIds": []) rather than null.
func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
