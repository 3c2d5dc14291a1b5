package postgres

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pool is a small connection pool on pgx.Conn. pgxpool would do, but it
// needs the github.com/jackc/puddle/v2 module, which go.mod does not pin;
// this covers what the store uses: a bounded number of connections, reuse,
// and discarding connections that broke (a restarted server).
type pool struct {
	cfg   *pgx.ConnConfig
	slots chan struct{} // one token per connection that may exist
	idle  chan idleConn // connections ready for reuse
	done  chan struct{} // closed by close: no more connections handed out

	// mu makes "return to idle" and "close drains idle" exclusive, so no
	// connection is parked in idle after close has emptied it.
	mu     sync.Mutex
	closed bool
}

type idleConn struct {
	conn  *pgx.Conn
	since time.Time
}

// staleAfter is how long a connection may sit idle before it is pinged
// before use: a server restart in the meantime is then found on the idle
// connection instead of failing the caller's query.
const staleAfter = time.Second

func newPool(cfg *pgx.ConnConfig) *pool {
	size := max(4, runtime.GOMAXPROCS(0))
	return &pool{
		cfg:   cfg,
		slots: make(chan struct{}, size),
		idle:  make(chan idleConn, size),
		done:  make(chan struct{}),
	}
}

var errPoolClosed = errors.New("store closed")

// with runs fn on a connection of the pool and returns it afterwards.
func (p *pool) with(ctx context.Context, fn func(*pgx.Conn) error) error {
	select {
	case p.slots <- struct{}{}:
	case <-p.done:
		return errPoolClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	conn, err := p.get(ctx)
	if err != nil {
		<-p.slots
		return err
	}
	defer p.put(conn)
	return fn(conn)
}

// get takes an idle connection, checking stale ones, or dials a new one.
func (p *pool) get(ctx context.Context) (*pgx.Conn, error) {
	for {
		select {
		case <-p.done:
			return nil, errPoolClosed
		case ic := <-p.idle:
			if time.Since(ic.since) < staleAfter || ic.conn.Ping(ctx) == nil {
				return ic.conn, nil
			}
			ic.conn.Close(context.Background())
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		default:
		}
		return pgx.ConnectConfig(ctx, p.cfg.Copy())
	}
}

// put returns a healthy connection to the idle set and closes one that is
// broken or still inside a transaction, then frees its slot.
func (p *pool) put(c *pgx.Conn) {
	defer func() { <-p.slots }()
	healthy := !c.IsClosed() && !c.PgConn().IsBusy() && c.PgConn().TxStatus() == 'I'
	p.mu.Lock()
	if healthy && !p.closed {
		select {
		case p.idle <- idleConn{conn: c, since: time.Now()}:
			p.mu.Unlock()
			return
		default:
		}
	}
	p.mu.Unlock()
	c.Close(context.Background())
}

// close stops handing out connections and closes the idle ones; those in
// use are closed when they come back.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	for {
		select {
		case ic := <-p.idle:
			ic.conn.Close(context.Background())
		default:
			return
		}
	}
}
