package cluster

import (
	"context"
	"errors"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/redisbus"
)

// Status is what /readyz reports of an instance.
type Status struct {
	Ready  bool   `json:"ready"`
	Role   Role   `json:"role"`
	Store  string `json:"store"` // "ok" or what failed
	Redis  string `json:"redis"` // "ok" or what failed
	Leader string `json:"leader,omitempty"`
	Self   string `json:"instance"`
}

// Status checks the store and Redis now and reports the role.
func (n *Node) Status(ctx context.Context) Status {
	s := Status{Role: n.Role(), Store: "ok", Redis: "ok", Self: n.lease.Holder()}
	if err := n.opts.Store.Ping(ctx); err != nil {
		s.Store = err.Error()
	} else if e := n.engine(); e != nil {
		// The leader's engine also knows about batches waiting to commit.
		if err := e.Ready(ctx); err != nil {
			s.Store = err.Error()
		}
	}
	if v, err := redisbus.Leader(ctx, n.opts.Redis, n.opts.Keys); err != nil {
		s.Redis = err.Error()
		n.setRedisErr(err)
	} else {
		s.Leader, _, _ = strings.Cut(strings.TrimPrefix(v, tokenPart(v)), "/")
	}
	s.Ready = s.Store == "ok" && s.Redis == "ok" && s.Role != RoleUnknown
	return s
}

func tokenPart(v string) string {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		return v[:i+1]
	}
	return ""
}

// Ready is the readiness check for internal/api: an error names what
// failed (store, Redis, or an unknown role).
func (n *Node) Ready(ctx context.Context) error { return n.Status(ctx).Err() }

// Err names what is not ready, nil when ready.
func (s Status) Err() error {
	if s.Ready {
		return nil
	}
	var msgs []string
	if s.Store != "ok" {
		msgs = append(msgs, "store: "+s.Store)
	}
	if s.Redis != "ok" {
		msgs = append(msgs, "redis: "+s.Redis)
	}
	if s.Role == RoleUnknown {
		msgs = append(msgs, "role: unknown")
	}
	return errors.New(strings.Join(msgs, "; "))
}
