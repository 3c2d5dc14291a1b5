// Package postgres is the shared store for several engine instances: the
// same schema and behaviour as the SQLite backend, on PostgreSQL via pgx.
package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/crowdrisk/crowdrisk/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store on a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	pool *pool
}

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN, as pgx accepts) and brings its schema up to date. Several instances
// may open the same database at once: migrations run under an advisory lock.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: newPool(cfg)}
	if err := s.pool.with(ctx, func(c *pgx.Conn) error { return migrate(ctx, c, migrationFiles) }); err != nil {
		s.pool.close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.with(ctx, func(c *pgx.Conn) error { return c.Ping(ctx) }); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the idle connections at once and the others as their calls
// finish; calls made after Close fail.
func (s *Store) Close() error {
	s.pool.close()
	return nil
}
