package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// defaultEventLimit bounds EventsAfter when the caller passes no limit.
const defaultEventLimit = 10000

const prunedKey = "pruned_up_to"

// throughKey holds the highest Batch.Through committed; lostPrefix keys
// one Batch.Lost gap each ("lost_after:<After>" = Before).
const (
	throughKey = "complete_through"
	lostPrefix = "lost_after:"
)

func lostKey(after event.ID) string { return lostPrefix + strconv.FormatInt(int64(after), 10) }

// lostGaps reads every recorded gap; there is one per crash at most, and
// PruneEvents forgets those below the pruned mark.
func lostGaps(ctx context.Context, c *pgx.Conn) ([]store.Gap, error) {
	rows, err := c.Query(ctx, "SELECT key, value FROM meta WHERE key LIKE 'lost_after:%'")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Gap
	for rows.Next() {
		var (
			key    string
			before int64
		)
		if err := rows.Scan(&key, &before); err != nil {
			return nil, err
		}
		after, err := strconv.ParseInt(strings.TrimPrefix(key, lostPrefix), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("meta %s: %w", key, err)
		}
		out = append(out, store.Gap{After: event.ID(after), Before: event.ID(before)})
	}
	return out, rows.Err()
}

// LastEventID is the highest id ever committed, pruned or not.
func (s *Store) LastEventID(ctx context.Context) (event.ID, error) {
	var last int64
	err := s.read(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT GREATEST(
			COALESCE((SELECT MAX(id) FROM events), 0),
			COALESCE((SELECT MAX(value) FROM meta WHERE key IN ($1, $2)), 0))`, prunedKey, throughKey).Scan(&last)
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
		gaps   []store.Gap
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
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		// Read after the events: gaps only ever get added, so a newer list
		// can only be more careful.
		gaps, err = lostGaps(ctx, c)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("postgres: events: %w", err)
	}
	covered := int64(after) >= pruned
	for _, g := range gaps {
		covered = covered && !g.Contains(after)
	}
	return out, covered, nil
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
		if _, err := tx.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value, excluded.value)`, prunedKey, cut); err != nil {
			return err
		}
		// A gap that ends below the pruned mark says nothing the mark does not.
		_, err := tx.Exec(ctx, "DELETE FROM meta WHERE key LIKE 'lost_after:%' AND value <= $1", cut)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: prune: %w", err)
	}
	return nil
}
