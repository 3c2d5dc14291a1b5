package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/webhooksql"
)

var _ store.WebhookQueue = (*Store)(nil)

// sqlConn adapts database/sql to webhooksql.Conn.
type sqlConn struct {
	exec  func(ctx context.Context, q string, args ...any) (sql.Result, error)
	query func(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (c sqlConn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	r, err := c.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

func (c sqlConn) Query(ctx context.Context, q string, args ...any) (webhooksql.Rows, error) {
	r, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

func dbConn(db *sql.DB) sqlConn { return sqlConn{db.ExecContext, db.QueryContext} }

// webhookWrite runs fn on the single writer, in a transaction.
func (s *Store) webhookWrite(ctx context.Context, what string, fn func(webhooksql.Conn) error) error {
	tx, err := s.wr().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, explain(s.path, err))
	}
	defer tx.Rollback()
	if err := fn(sqlConn{tx.ExecContext, tx.QueryContext}); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, explain(s.path, err))
	}
	return nil
}

func wrap(what string, err error) error {
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return nil
}

func (s *Store) WebhookCursor(ctx context.Context) (event.ID, bool, error) {
	id, ok, err := webhooksql.Cursor(ctx, dbConn(s.rd()))
	return id, ok, wrap("webhook cursor", err)
}

func (s *Store) WebhookAdvance(ctx context.Context, a store.WebhookAdvance) (map[string]int, error) {
	var dropped map[string]int
	err := s.webhookWrite(ctx, "webhook advance", func(c webhooksql.Conn) (err error) {
		dropped, err = webhooksql.Advance(ctx, c, a)
		return err
	})
	return dropped, err
}

func (s *Store) WebhookAlerts(ctx context.Context) ([]store.WebhookAlert, error) {
	out, err := webhooksql.Alerts(ctx, dbConn(s.rd()))
	return out, wrap("webhook alerts", err)
}

func (s *Store) WebhookDue(ctx context.Context, receiver string, now int64, limit int) ([]store.WebhookDelivery, error) {
	out, err := webhooksql.Due(ctx, dbConn(s.rd()), receiver, now, limit)
	return out, wrap("webhook due", err)
}

func (s *Store) WebhookDone(ctx context.Context, seq int64) error {
	return wrap("webhook done", webhooksql.Done(ctx, dbConn(s.wr()), seq))
}

func (s *Store) WebhookRetry(ctx context.Context, seq int64, attempts int, nextAt int64, lastError string) error {
	return wrap("webhook retry", webhooksql.Retry(ctx, dbConn(s.wr()), seq, attempts, nextAt, lastError))
}

func (s *Store) WebhookStats(ctx context.Context) ([]store.WebhookStat, error) {
	out, err := webhooksql.Stats(ctx, dbConn(s.rd()))
	return out, wrap("webhook stats", err)
}

func (s *Store) WebhookForget(ctx context.Context, keep []string) (int, error) {
	n, err := webhooksql.Forget(ctx, dbConn(s.wr()), keep)
	return n, wrap("webhook forget", err)
}
