package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/redisbus"
)

// elect is the election loop: a follower tries to take the lease every
// RenewEvery; the leader renews it as often. A leader that cannot renew
// steps down before its lease can have expired, so two instances never
// evaluate at once even while Redis is unreachable.
func (n *Node) elect(ctx context.Context) {
	t := time.NewTicker(n.opts.RenewEvery)
	defer t.Stop()
	var renewed time.Time // last successful acquire or renew
	for {
		n.electOnce(ctx, &renewed)
		select {
		case <-ctx.Done():
			n.stepDown("shutting down")
			rctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if err := n.lease.Release(rctx); err != nil {
				n.log.Warn("releasing the lease failed; another instance takes over when it expires", "err", err)
			}
			cancel()
			return
		case <-n.deposed:
			n.stepDown("lease lost")
		case <-t.C:
		}
	}
}

func (n *Node) electOnce(ctx context.Context, renewed *time.Time) {
	if ctx.Err() != nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, n.opts.RenewEvery)
	defer cancel()
	if n.Role() == RoleLeader {
		start := n.now()
		err := n.lease.Renew(cctx)
		switch {
		case err == nil:
			*renewed = start
			n.leadership().extend(start.Add(n.safeLease()))
			n.setRedisErr(nil)
		case errors.Is(err, redisbus.ErrFenced):
			n.setRedisErr(nil)
			n.stepDown("lease taken over")
		default:
			n.setRedisErr(err)
			// The lease may still be ours in Redis, but we cannot prove it
			// for long: stop before it could have expired.
			if n.now().After(renewed.Add(n.safeLease())) {
				n.stepDown("cannot renew the lease: " + err.Error())
				n.setRole(RoleUnknown)
			}
		}
		return
	}
	start := n.now()
	f, ok, err := n.lease.Acquire(cctx)
	if err != nil {
		n.setRedisErr(err)
		n.setRole(RoleUnknown)
		return
	}
	n.setRedisErr(nil)
	if !ok {
		n.setRole(RoleFollower)
		return
	}
	*renewed = start
	if err := n.becomeLeader(ctx, f, start.Add(n.safeLease())); err != nil {
		n.log.Error("could not start evaluating; giving the lease back", "err", err)
		rctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = n.lease.Release(rctx)
		cancel()
		n.setRole(RoleFollower)
	}
}

// safeLease is how long after a renewal the leader still trusts its lease:
// the TTL less one renew interval, a margin for clock drift and the time
// the renew request took.
func (n *Node) safeLease() time.Duration { return n.opts.LeaseTTL - n.opts.RenewEvery }

func (n *Node) setRole(r Role) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.role != r {
		n.log.Info("role changed", "from", n.role, "to", r)
	}
	n.role = r
}

func (n *Node) leadership() *leadership {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lead
}
