package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// defaultEventLimit bounds EventsAfter when the caller passes no limit.
const defaultEventLimit = 10000

const prunedKey = "pruned_up_to"

// LastEventID is the highest id ever committed, pruned or not.
func (s *Store) LastEventID(ctx context.Context) (event.ID, error) {
	var last int64
	err := s.read(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT GREATEST(
			COALESCE((SELECT MAX(id) FROM events), 0),
			COALESCE((SELECT value FROM meta WHERE key = $1), 0))`, prunedKey).Scan(&last)
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: last event id: %w", err)
	}
	return event.ID(last), nil
}

// EventsAfter returns events with after < id <= upTo, oldest first. upTo 0
// means no upper bound; limit <= 0 means defaultEventLimit. One statement
// reads both the events and the pruned mark, so both come from the same
// snapshot and a concurrent prune cannot slip between them.
func (s *Store) EventsAfter(ctx context.Context, after, upTo event.ID, limit int) ([]store.StoredEvent, bool, error) {
	if limit <= 0 {
		limit = defaultEventLimit
	}
	hi := int64(upTo)
	if upTo.IsZero() {
		hi = int64(^uint64(0) >> 1)
	}
	// The mark rides on a row of its own (id NULL) ahead of the events.
	var (
		pruned int64
		out    []store.StoredEvent
	)
	err := s.read(ctx, func(c *pgx.Conn) error {
		pruned, out = 0, []store.StoredEvent{}
		rows, err := c.Query(ctx, `SELECT * FROM (
			(SELECT NULL::BIGINT AS id, '' AS topic, '' AS type, ''::BYTEA AS data,
				COALESCE((SELECT value FROM meta WHERE key = $4), 0) AS at)
			UNION ALL
			(SELECT id, topic, type, data, at FROM events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3)
		) u ORDER BY id NULLS FIRST`,
			int64(after), hi, limit, prunedKey)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id        *int64
				topic, ty string
				data      []byte
				at        int64
			)
			if err := rows.Scan(&id, &topic, &ty, &data, &at); err != nil {
				return err
			}
			if id == nil {
				pruned = at
				continue
			}
			out = append(out, store.StoredEvent{ID: event.ID(*id), Topic: event.Topic(topic), Type: ty, Data: data, At: time.UnixMilli(at)})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, false, fmt.Errorf("postgres: events: %w", err)
	}
	return out, int64(after) >= pruned, nil
}

// PruneEvents bounds the history by age and by count: an event goes when it
// is older than olderThan (zero time: no age bound) or not among the newest
// keep (keep <= 0: no count bound). The deleted set is widened to a prefix of
// the id order, so the remembered highest pruned id says exactly what is gone.
func (s *Store) PruneEvents(ctx context.Context, olderThan time.Time, keep int) error {
	// Idempotent: a second run finds nothing older or beyond keep left.
	err := s.inTx(ctx, true, func(tx pgx.Tx) error {
		// Prunes and commits take turns, as on SQLite.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", commitLock); err != nil {
			return err
		}
		var cut int64
		if !olderThan.IsZero() {
			if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(id), 0) FROM events WHERE at < $1",
				olderThan.UnixMilli()).Scan(&cut); err != nil {
				return err
			}
		}
		if keep > 0 {
			var byCount int64
			if err := tx.QueryRow(ctx, "SELECT COALESCE((SELECT id FROM events ORDER BY id DESC OFFSET $1 LIMIT 1), 0)",
				keep).Scan(&byCount); err != nil {
				return err
			}
			cut = max(cut, byCount)
		}
		if cut == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, "DELETE FROM events WHERE id <= $1", cut); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value, excluded.value)`, prunedKey, cut)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: prune: %w", err)
	}
	return nil
}
