package chaos

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// writing waits (up to within; 0: asks once) until some backend of the crowdrisk
// database is inside a transaction that has written: the leader in the
// middle of a commit, the worst moment to be paused, which a GC pause or a
// frozen VM can hit as easily as any other. It polls as fast as the server
// answers; false when no such moment came.
func (p *pgServer) writing(within time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), within+time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.url("postgres"))
	if err != nil {
		return false
	}
	defer c.Close(context.Background())
	deadline := time.Now().Add(within)
	for first := true; first || time.Now().Before(deadline); first = false {
		var n int
		err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = 'crowdrisk' AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL`).Scan(&n)
		if err != nil {
			return false
		}
		if n > 0 {
			return true
		}
	}
	return false
}
