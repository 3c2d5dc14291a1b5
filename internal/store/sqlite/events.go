package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// defaultEventLimit bounds EventsAfter when the caller passes no limit, so a
// replay never loads an unbounded history into memory.
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
func lostGaps(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]store.Gap, error) {
	rows, err := q.QueryContext(ctx, "SELECT key, value FROM meta WHERE key LIKE 'lost_after:%'")
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

// LastEventID is the highest id ever committed, pruned or not, so that a
// restarted engine continues after it even when the history was emptied.
func (s *Store) LastEventID(ctx context.Context) (event.ID, error) {
	var last int64
	err := s.rd().QueryRowContext(ctx, `SELECT MAX(
		COALESCE((SELECT MAX(id) FROM events), 0),
		COALESCE((SELECT MAX(value) FROM meta WHERE key IN (?, ?)), 0))`, prunedKey, throughKey).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("sqlite: last event id: %w", err)
	}
	return event.ID(last), nil
}

// EventsAfter returns events with after < id <= upTo, oldest first. upTo 0
// means no upper bound; limit <= 0 means defaultEventLimit. Both queries run
// in one read transaction so that a concurrent prune cannot slip between
// the events and the covered flag.
func (s *Store) EventsAfter(ctx context.Context, after, upTo event.ID, limit int) ([]store.StoredEvent, bool, error) {
	if limit <= 0 {
		limit = defaultEventLimit
	}
	hi := int64(upTo)
	if upTo.IsZero() {
		hi = int64(^uint64(0) >> 1)
	}
	tx, err := s.rd().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: events: %w", err)
	}
	defer tx.Rollback()
	var pruned int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE((SELECT value FROM meta WHERE key = ?), 0)", prunedKey).Scan(&pruned); err != nil {
		return nil, false, fmt.Errorf("sqlite: events: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, topic, type, data, at FROM events
		WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`, int64(after), hi, limit)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: events: %w", err)
	}
	defer rows.Close()
	out := []store.StoredEvent{}
	for rows.Next() {
		var (
			e      store.StoredEvent
			id, at int64
			topic  string
		)
		if err := rows.Scan(&id, &topic, &e.Type, &e.Data, &at); err != nil {
			return nil, false, fmt.Errorf("sqlite: events: %w", err)
		}
		e.ID, e.Topic, e.At = event.ID(id), event.Topic(topic), time.UnixMilli(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: events: %w", err)
	}
	gaps, err := lostGaps(ctx, tx)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: events: %w", err)
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
// the id order, so that the one remembered number, the highest pruned id,
// describes exactly what is gone.
func (s *Store) PruneEvents(ctx context.Context, olderThan time.Time, keep int) error {
	tx, err := s.wr().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: prune: %w", err)
	}
	defer tx.Rollback()
	var cut int64
	if !olderThan.IsZero() {
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM events WHERE at < ?",
			olderThan.UnixMilli()).Scan(&cut); err != nil {
			return fmt.Errorf("sqlite: prune: %w", err)
		}
	}
	if keep > 0 {
		var byCount int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE((SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?), 0)",
			keep).Scan(&byCount); err != nil {
			return fmt.Errorf("sqlite: prune: %w", err)
		}
		cut = max(cut, byCount)
	}
	if cut == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM events WHERE id <= ?", cut); err != nil {
		return fmt.Errorf("sqlite: prune: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)`, prunedKey, cut); err != nil {
		return fmt.Errorf("sqlite: prune: %w", err)
	}
	// A gap that ends below the pruned mark says nothing the mark does not.
	if _, err := tx.ExecContext(ctx, "DELETE FROM meta WHERE key LIKE 'lost_after:%' AND value <= ?", cut); err != nil {
		return fmt.Errorf("sqlite: prune: %w", err)
	}
	return tx.Commit()
}
