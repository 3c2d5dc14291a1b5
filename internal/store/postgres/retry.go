package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crowdrisk/crowdrisk/internal/store"
)

// A pooled connection can be dead without the pool knowing: PostgreSQL
// restarted, or an administrator ended the session, since it was last used.
// pgxpool pings a connection idle for over pingAfterIdle before handing it
// out; one used more recently fails the statement instead. Such a failure
// says nothing about the statement, so it is run once more where that is
// safe, and the second try pings every connection it is offered, so the
// other dead ones in the pool are skipped, not tried one by one.

type retryKey struct{}

// retrying reports whether ctx belongs to a second try (see ShouldPing in
// poolConfig).
func retrying(ctx context.Context) bool { return ctx.Value(retryKey{}) != nil }

// attempt runs fn on one pooled connection. lost reports that the
// connection died under fn while the caller was still waiting: the error is
// then the connection's, not the statement's.
func (s *Store) attempt(ctx context.Context, fn func(*pgx.Conn) error) (lost bool, err error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer c.Release() // a closed connection is destroyed, not pooled
	err = fn(c.Conn())
	return err != nil && ctx.Err() == nil && c.Conn().IsClosed(), err
}

// read runs fn, which only reads, on a pooled connection; a read cannot do
// harm twice, so one that lost its connection runs again on another.
// fn must start from scratch each time (no results kept from a first try).
func (s *Store) read(ctx context.Context, fn func(*pgx.Conn) error) error {
	lost, err := s.attempt(ctx, fn)
	if lost {
		_, err = s.attempt(context.WithValue(ctx, retryKey{}, true), fn)
	}
	return unreachable(err)
}

// unreachable marks an error that says the server could not be reached
// (connection refused or lost, the server shutting down or starting up) as
// store.UnavailableError, so that callers answer 503, not 500.
func unreachable(err error) error {
	if err == nil {
		return nil
	}
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &ce), pgconn.SafeToRetry(err), errors.Is(err, net.ErrClosed):
		return &store.UnavailableError{Err: err}
	case errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")):
		// 08: connection exception; 57P: the server is shutting down or starting.
		return &store.UnavailableError{Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return &store.UnavailableError{Err: err}
	}
	return err
}

// inTx runs fn in a transaction and commits it. A transaction that lost its
// connection before COMMIT was sent cannot have committed (PostgreSQL rolls
// back the open transaction of a session that ends), so it runs again on
// another connection. Once COMMIT is sent the outcome is unknown: it runs
// again only if idempotent (running it after it took effect changes
// nothing), and otherwise the caller gets an error that says so.
func (s *Store) inTx(ctx context.Context, idempotent bool, fn func(pgx.Tx) error) error {
	var committing bool
	run := func(c *pgx.Conn) error {
		committing = false
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) // a no-op after Commit
		if err := fn(tx); err != nil {
			return err
		}
		committing = true
		return tx.Commit(ctx)
	}
	lost, err := s.attempt(ctx, run)
	if lost && (!committing || idempotent) {
		lost, err = s.attempt(context.WithValue(ctx, retryKey{}, true), run)
	}
	if lost && committing {
		return fmt.Errorf("connection lost during COMMIT, the transaction may or may not have committed: %w", err)
	}
	return err
}
