// Package webhooksql is the SQL of store.WebhookQueue, written once for
// both backends: SQLite and PostgreSQL share these statements (with "?"
// rewritten to "$n" for PostgreSQL), each backend only adapts its driver
// to Conn and chooses the transaction.
package webhooksql

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// Conn is a connection or a transaction of either driver.
type Conn interface {
	Exec(ctx context.Context, q string, args ...any) (rowsAffected int64, err error)
	Query(ctx context.Context, q string, args ...any) (Rows, error)
}

// Rows is the part of a result set the queries read.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Dollar rewrites "?" placeholders to PostgreSQL's "$1", "$2"... The
// statements here have no "?" inside string literals.
func Dollar(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Cursor reads the cursor.
func Cursor(ctx context.Context, c Conn) (event.ID, bool, error) {
	rows, err := c.Query(ctx, "SELECT event_id FROM webhook_cursor WHERE one = 1")
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return 0, false, rows.Err()
	}
	var id int64
	if err := rows.Scan(&id); err != nil {
		return 0, false, err
	}
	return event.ID(id), true, rows.Err()
}

// Advance applies a; c must be a transaction.
func Advance(ctx context.Context, c Conn, a store.WebhookAdvance) (map[string]int, error) {
	n, err := c.Exec(ctx, "UPDATE webhook_cursor SET event_id = ? WHERE one = 1 AND event_id = ?", int64(a.To), int64(a.From))
	if err != nil {
		return nil, err
	}
	if n == 0 {
		if a.From != 0 {
			return nil, store.ErrWebhookCursorMoved
		}
		// No cursor yet (the first advance ever), or another instance's
		// cursor is not at 0: the insert tells them apart.
		if n, err = c.Exec(ctx, "INSERT INTO webhook_cursor (one, event_id) VALUES (1, ?) ON CONFLICT (one) DO NOTHING", int64(a.To)); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, store.ErrWebhookCursorMoved
		}
	}
	for _, s := range a.Alerts {
		if _, err := c.Exec(ctx, `INSERT INTO webhook_alerts (alert_id, level, status, muted, notifications, level_since, escalated)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (alert_id) DO UPDATE SET level = excluded.level, status = excluded.status, muted = excluded.muted,
				notifications = excluded.notifications, level_since = excluded.level_since, escalated = excluded.escalated`,
			s.AlertID, int(s.Level), string(s.Status), boolInt(s.Muted), s.Notifications, s.LevelSince, int(s.Escalated)); err != nil {
			return nil, err
		}
	}
	for _, id := range a.Forget {
		if _, err := c.Exec(ctx, "DELETE FROM webhook_alerts WHERE alert_id = ?", id); err != nil {
			return nil, err
		}
	}
	receivers := map[string]bool{}
	for _, d := range a.Deliveries {
		if _, err := c.Exec(ctx, `INSERT INTO webhook_deliveries (id, receiver, key, payload, created_at, attempts, next_at, last_error)
			VALUES (?, ?, ?, ?, ?, 0, ?, '')`, d.ID, d.Receiver, d.Key, d.Payload, d.CreatedAt, d.NextAt); err != nil {
			return nil, err
		}
		receivers[d.Receiver] = true
	}
	dropped := map[string]int{}
	if a.MaxPerReceiver <= 0 {
		return dropped, nil
	}
	for r := range receivers {
		var count int
		if err := one(ctx, c, &count, "SELECT COUNT(*) FROM webhook_deliveries WHERE receiver = ?", r); err != nil {
			return nil, err
		}
		if over := count - a.MaxPerReceiver; over > 0 {
			if _, err := c.Exec(ctx, `DELETE FROM webhook_deliveries WHERE seq IN
				(SELECT seq FROM webhook_deliveries WHERE receiver = ? ORDER BY seq LIMIT ?)`, r, over); err != nil {
				return nil, err
			}
			dropped[r] = over
		}
	}
	return dropped, nil
}

// Alerts lists the alert states.
func Alerts(ctx context.Context, c Conn) ([]store.WebhookAlert, error) {
	rows, err := c.Query(ctx, `SELECT alert_id, level, status, muted, notifications, level_since, escalated
		FROM webhook_alerts ORDER BY alert_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.WebhookAlert{}
	for rows.Next() {
		var s store.WebhookAlert
		var level, muted, escalated int
		var status string
		if err := rows.Scan(&s.AlertID, &level, &status, &muted, &s.Notifications, &s.LevelSince, &escalated); err != nil {
			return nil, err
		}
		s.Level, s.Status, s.Muted, s.Escalated = crowd.Level(level), crowd.AlertStatus(status), muted != 0, crowd.Level(escalated)
		out = append(out, s)
	}
	return out, rows.Err()
}

// Due: see store.WebhookQueue.
func Due(ctx context.Context, c Conn, receiver string, now int64, limit int) ([]store.WebhookDelivery, error) {
	rows, err := c.Query(ctx, `SELECT d.seq, d.id, d.receiver, d.key, d.payload, d.created_at, d.attempts, d.next_at, d.last_error
		FROM webhook_deliveries d
		JOIN (SELECT MIN(seq) AS seq FROM webhook_deliveries WHERE receiver = ? GROUP BY key) h ON h.seq = d.seq
		WHERE d.next_at <= ? ORDER BY d.seq LIMIT ?`, receiver, now, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.WebhookDelivery
	for rows.Next() {
		var d store.WebhookDelivery
		if err := rows.Scan(&d.Seq, &d.ID, &d.Receiver, &d.Key, &d.Payload, &d.CreatedAt, &d.Attempts, &d.NextAt, &d.LastError); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Done deletes a delivery.
func Done(ctx context.Context, c Conn, seq int64) error {
	_, err := c.Exec(ctx, "DELETE FROM webhook_deliveries WHERE seq = ?", seq)
	return err
}

// Retry records a failed attempt.
func Retry(ctx context.Context, c Conn, seq int64, attempts int, nextAt int64, lastError string) error {
	if len(lastError) > 500 {
		lastError = lastError[:500]
	}
	_, err := c.Exec(ctx, "UPDATE webhook_deliveries SET attempts = ?, next_at = ?, last_error = ? WHERE seq = ?",
		attempts, nextAt, lastError, seq)
	return err
}

// Stats counts the backlog per receiver.
func Stats(ctx context.Context, c Conn) ([]store.WebhookStat, error) {
	rows, err := c.Query(ctx, `SELECT receiver, COUNT(*), MIN(created_at) FROM webhook_deliveries
		GROUP BY receiver ORDER BY receiver`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.WebhookStat{}
	for rows.Next() {
		var s store.WebhookStat
		if err := rows.Scan(&s.Receiver, &s.Pending, &s.OldestCreatedAt); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Forget deletes the deliveries of receivers not in keep.
func Forget(ctx context.Context, c Conn, keep []string) (int, error) {
	q := "DELETE FROM webhook_deliveries"
	args := make([]any, len(keep))
	if len(keep) > 0 {
		q += " WHERE receiver NOT IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(keep)), ", ") + ")"
		for i, k := range keep {
			args[i] = k
		}
	}
	n, err := c.Exec(ctx, q, args...)
	return int(n), err
}

func one(ctx context.Context, c Conn, dest any, q string, args ...any) error {
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("no row for %q", q)
	}
	if err := rows.Scan(dest); err != nil {
		return err
	}
	return rows.Err()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
