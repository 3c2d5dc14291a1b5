package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/webhooksql"
)

var _ store.WebhookQueue = (*Store)(nil)

// pgConn adapts a pgx connection or transaction to webhooksql.Conn.
type pgConn struct {
	exec  func(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error)
	query func(ctx context.Context, q string, args ...any) (pgx.Rows, error)
}

func (c pgConn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.exec(ctx, webhooksql.Dollar(q), args...)
	return tag.RowsAffected(), err
}

func (c pgConn) Query(ctx context.Context, q string, args ...any) (webhooksql.Rows, error) {
	r, err := c.query(ctx, webhooksql.Dollar(q), args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// webhookRead runs fn, which only reads, on a pooled connection.
func (s *Store) webhookRead(ctx context.Context, what string, fn func(webhooksql.Conn) error) error {
	err := s.read(ctx, func(c *pgx.Conn) error { return fn(pgConn{c.Exec, c.Query}) })
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	return nil
}

// webhookTx runs fn in a transaction. Not idempotent in general (an
// advance inserts deliveries), so a COMMIT whose outcome is unknown is
// reported, not repeated.
func (s *Store) webhookTx(ctx context.Context, what string, fn func(webhooksql.Conn) error) error {
	err := s.inTx(ctx, false, func(tx pgx.Tx) error { return fn(pgConn{tx.Exec, tx.Query}) })
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	return nil
}

func (s *Store) WebhookCursor(ctx context.Context) (id event.ID, ok bool, err error) {
	err = s.webhookRead(ctx, "webhook cursor", func(c webhooksql.Conn) (err error) {
		id, ok, err = webhooksql.Cursor(ctx, c)
		return err
	})
	return id, ok, err
}

func (s *Store) WebhookAdvance(ctx context.Context, a store.WebhookAdvance) (dropped map[string]int, err error) {
	err = s.webhookTx(ctx, "webhook advance", func(c webhooksql.Conn) (err error) {
		dropped, err = webhooksql.Advance(ctx, c, a)
		return err
	})
	return dropped, err
}

func (s *Store) WebhookAlerts(ctx context.Context) (out []store.WebhookAlert, err error) {
	err = s.webhookRead(ctx, "webhook alerts", func(c webhooksql.Conn) (err error) {
		out, err = webhooksql.Alerts(ctx, c)
		return err
	})
	return out, err
}

func (s *Store) WebhookDue(ctx context.Context, receiver string, now int64, limit int) (out []store.WebhookDelivery, err error) {
	err = s.webhookRead(ctx, "webhook due", func(c webhooksql.Conn) (err error) {
		out, err = webhooksql.Due(ctx, c, receiver, now, limit)
		return err
	})
	return out, err
}

func (s *Store) WebhookDone(ctx context.Context, seq int64) error {
	return s.webhookTx(ctx, "webhook done", func(c webhooksql.Conn) error { return webhooksql.Done(ctx, c, seq) })
}

func (s *Store) WebhookRetry(ctx context.Context, seq int64, attempts int, nextAt int64, lastError string) error {
	return s.webhookTx(ctx, "webhook retry", func(c webhooksql.Conn) error {
		return webhooksql.Retry(ctx, c, seq, attempts, nextAt, lastError)
	})
}

func (s *Store) WebhookStats(ctx context.Context) (out []store.WebhookStat, err error) {
	err = s.webhookRead(ctx, "webhook stats", func(c webhooksql.Conn) (err error) {
		out, err = webhooksql.Stats(ctx, c)
		return err
	})
	return out, err
}

func (s *Store) WebhookForget(ctx context.Context, keep []string) (n int, err error) {
	err = s.webhookTx(ctx, "webhook forget", func(c webhooksql.Conn) (err error) {
		n, err = webhooksql.Forget(ctx, c, keep)
		return err
	})
	return n, err
}
