package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

const upsertAlert = `INSERT INTO alerts (id, zone_id, level, kind, message, density, raised_at, status,
	updated_at, acknowledged_by, acknowledged_at, resolved_at, muted, muted_reason, notifications)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	zone_id = excluded.zone_id, level = excluded.level, kind = excluded.kind,
	message = excluded.message, density = excluded.density, raised_at = excluded.raised_at,
	status = excluded.status, updated_at = excluded.updated_at,
	acknowledged_by = excluded.acknowledged_by, acknowledged_at = excluded.acknowledged_at,
	resolved_at = excluded.resolved_at, muted = excluded.muted,
	muted_reason = excluded.muted_reason, notifications = excluded.notifications`

// Commit applies the batch in one transaction on the single writer
// connection: all of it, or nothing.
func (s *Store) Commit(ctx context.Context, b store.Batch) error {
	if b.Empty() {
		return nil
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	defer tx.Rollback()
	if err := commitBatch(ctx, tx, b); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

func commitBatch(ctx context.Context, tx *sql.Tx, b store.Batch) error {
	for _, a := range b.Alerts {
		if a.ID == "" {
			return crowd.Invalidf("alerts.id", "an alert needs an id")
		}
		if !validLevel(a.Level) || !a.Status.Valid() {
			return crowd.Invalidf("alerts", "alert %s has level %v and status %q", a.ID, a.Level, a.Status)
		}
		if _, err := tx.ExecContext(ctx, upsertAlert, a.ID, a.ZoneID, a.Level.String(), string(a.Kind),
			a.Message, a.Density, a.Timestamp, string(a.Status), a.UpdatedAt, a.AcknowledgedBy,
			a.AcknowledgedAt, a.ResolvedAt, a.Muted, a.MutedReason, a.Notifications); err != nil {
			return fmt.Errorf("alert %s: %w", a.ID, err)
		}
	}
	if b.SetEmergency {
		if err := insertEmergency(ctx, tx, b.Emergency); err != nil {
			return fmt.Errorf("emergency: %w", err)
		}
	}
	for _, e := range b.Events {
		if e.ID.IsZero() {
			return crowd.Invalidf("events.id", "an event needs an id")
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO events (id, topic, type, data, at) VALUES (?, ?, ?, ?, ?)",
			int64(e.ID), string(e.Topic), e.Type, nonNil(e.Data), e.At.UnixMilli()); err != nil {
			return fmt.Errorf("event %s: %w", e.ID, err)
		}
	}
	for _, in := range b.Incidents {
		if in.Level != nil && !validLevel(*in.Level) {
			return crowd.Invalidf("incidents.level", "unknown level %v", *in.Level)
		}
		var level any
		if in.Level != nil {
			level = in.Level.String()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incidents (ts, kind, zone_id, alert_id, level, actor, message)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, in.Timestamp, string(in.Kind), in.ZoneID, in.AlertID, level,
			in.Actor, in.Message); err != nil {
			return fmt.Errorf("incident: %w", err)
		}
	}
	return nil
}

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

// Emergency returns the newest emergency row, nil when it ended (or none).
func (s *Store) Emergency(ctx context.Context) (*crowd.EmergencyMode, error) {
	var (
		ended bool
		m     crowd.EmergencyMode
		zones string
	)
	err := s.read.QueryRowContext(ctx, `SELECT ended, active, reason, zone_ids, activated_at, activated_by
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

// validLevel keeps levels that would not read back (by name) out of the
// store.
func validLevel(l crowd.Level) bool { return l >= crowd.Normal && l <= crowd.Emergency }
