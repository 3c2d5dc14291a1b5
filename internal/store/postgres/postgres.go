// Package postgres is the shared store for several engine instances: the
// same schema and behaviour as the SQLite backend, on PostgreSQL via pgx.
package postgres

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crowdrisk/crowdrisk/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store on a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Pool settings where the URL names none (pgx reads pool_max_conns,
// pool_health_check_period, ... from it, and those win).
const (
	// Commits serialise on one advisory lock, so more connections than
	// cores buy little; reads (history replays, incident exports) get the
	// rest.
	minMaxConns = 4
	// An idle connection is retired after this long, so a quiet instance
	// does not hold server slots that other instances could use.
	maxConnIdleTime = 5 * time.Minute
	// How often idle connections are checked against maxConnIdleTime and
	// the lifetime limit.
	healthCheckPeriod = 30 * time.Second
	// A connection that does not answer a ping in this time is dropped and
	// another tried, instead of the ping using up the caller's deadline (a
	// server that vanished without closing its sockets).
	pingTimeout = 3 * time.Second
	// A connection idle for longer is pinged before use: a server restart
	// in the meantime is found on the idle connection, not on the caller's
	// query. pgx's own default, named here because retries build on it.
	pingAfterIdle = time.Second
	// Server-side bounds on every session (see poolConfig). They are
	// shorter than a lease (3 s by default) plus its renewal, so a
	// takeover is never held up by the old leader's transaction.
	lockTimeout      = "2s"
	idleInTxTimeout  = "3s"
	statementTimeout = "30s"
)

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN, as pgx accepts) and brings its schema up to date. Several instances
// may open the same database at once: migrations run under an advisory lock.
func Open(ctx context.Context, url string) (*Store, error) {
	return open(ctx, url, pingAfterIdle)
}

// open is Open with the idle time after which a pooled connection is pinged
// before use; tests turn that off to reach the retries behind it.
func open(ctx context.Context, url string, pingIdle time.Duration) (*Store, error) {
	cfg, err := poolConfig(url, pingIdle)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool}
	err = pool.AcquireFunc(ctx, func(c *pgxpool.Conn) error { return migrate(ctx, c.Conn(), migrationFiles) })
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

func poolConfig(url string, pingIdle time.Duration) (*pgxpool.Config, error) {
	// pgxpool fills in its defaults for the pool_ parameters the URL leaves
	// out and then drops them all, so which ones were given is read first.
	given, err := pgconn.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	unset := func(key string) bool { _, ok := given.RuntimeParams[key]; return !ok }
	if unset("pool_max_conns") {
		cfg.MaxConns = int32(max(minMaxConns, runtime.GOMAXPROCS(0)))
	}
	if unset("pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = maxConnIdleTime
	}
	if unset("pool_health_check_period") {
		cfg.HealthCheckPeriod = healthCheckPeriod
	}
	if unset("pool_ping_timeout") {
		cfg.PingTimeout = pingTimeout
	}
	// No lock or transaction of a paused or hung instance may hold the
	// others for long (a leader stopped inside a commit holds the fence row
	// in its open transaction): a lock wait ends after lockTimeout, a
	// transaction idle that long is ended by the server (its locks freed),
	// and no statement runs for ever. The commit that failed is retried
	// by the engine.
	for key, v := range map[string]string{
		"lock_timeout":                        lockTimeout,
		"idle_in_transaction_session_timeout": idleInTxTimeout,
		"statement_timeout":                   statementTimeout,
	} {
		if unset(key) {
			cfg.ConnConfig.RuntimeParams[key] = v
		}
	}
	cfg.ShouldPing = func(ctx context.Context, p pgxpool.ShouldPingParams) bool {
		return p.IdleDuration >= pingIdle || retrying(ctx)
	}
	return cfg, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read(ctx, func(c *pgx.Conn) error { return c.Ping(ctx) }); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool: idle connections at once, the others when the
// calls using them return (Close waits for that); calls made after Close
// fail.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}
