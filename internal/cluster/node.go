// Package cluster runs one instance of a multi-instance deployment: it
// follows the shared event stream into the local hub, takes part in the
// leader election, runs the real engine only while it holds the lease, and
// answers the API on every instance — directly on the leader, by forwarding
// writes to the leader and serving reads from the store and the followed
// events on a follower. A Node satisfies internal/api's Engine interface.
package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/hub"
	"github.com/crowdrisk/crowdrisk/internal/redisbus"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// Role is what an instance currently does.
type Role string

// Roles. Unknown means the instance cannot tell (Redis unreachable): it is
// then not ready, and it evaluates nothing.
const (
	RoleUnknown  Role = "unknown"
	RoleFollower Role = "follower"
	RoleLeader   Role = "leader"
)

// Options configure a Node. Zero durations take the defaults.
type Options struct {
	Redis *redis.Client
	Keys  redisbus.Keys
	Store store.Store // shared by every instance (PostgreSQL)
	// Hub is the local fan-out; the node publishes into it every event of
	// the shared stream after Start, in stream order.
	Hub   *hub.Hub
	Start event.ID

	Venue         crowd.Venue
	Rules         crowd.Rules
	MaxClockSkew  time.Duration
	HistoryWindow time.Duration // default 15 minutes
	// History is the leader engine's stored density history (only the
	// leader writes it; every instance reads it from the shared store).
	History engine.HistoryOptions

	Name           string        // this instance in the lease and the logs
	LeaseTTL       time.Duration // default 3 s
	RenewEvery     time.Duration // default 1 s
	ForwardTimeout time.Duration // default 5 s: a follower's write waits this long for the leader
	StreamMaxLen   int64         // default 100000 entries per stream

	Now    func() time.Time
	Logger *slog.Logger
	// Observer is passed to the leader's engine (metrics).
	Observer engine.Observer
}

// Node is one instance. Safe for concurrent use.
type Node struct {
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	lease  *redisbus.Lease
	events *redisbus.Log
	queue  *redisbus.Queue
	view   *view

	mu       sync.Mutex
	role     Role
	lead     *leadership // nil unless leader
	redisErr error       // the last Redis failure, nil once it answers again

	// deposed is signalled (without blocking) by whoever learns that the
	// lease is gone; the election loop then steps down.
	deposed chan struct{}
}

// New builds a node; it joins the election when Run starts.
func New(ctx context.Context, opts Options) (*Node, error) {
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 3 * time.Second
	}
	if opts.RenewEvery <= 0 {
		opts.RenewEvery = time.Second
	}
	if opts.RenewEvery*2 > opts.LeaseTTL {
		return nil, fmt.Errorf("cluster: renew interval %s must be at most half the lease TTL %s", opts.RenewEvery, opts.LeaseTTL)
	}
	if opts.ForwardTimeout <= 0 {
		opts.ForwardTimeout = 5 * time.Second
	}
	if opts.HistoryWindow <= 0 {
		opts.HistoryWindow = 15 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := opts.Venue.Validate(); err != nil {
		return nil, err
	}
	n := &Node{
		opts:    opts,
		log:     opts.Logger.With("instance", opts.Name),
		now:     opts.Now,
		lease:   redisbus.NewLease(opts.Redis, opts.Keys, opts.Name, opts.LeaseTTL),
		events:  redisbus.NewLog(opts.Redis, opts.Keys, opts.StreamMaxLen),
		queue:   redisbus.NewQueue(opts.Redis, opts.Keys, opts.StreamMaxLen),
		view:    newView(opts.Venue, opts.HistoryWindow, opts.Start),
		role:    RoleUnknown,
		deposed: make(chan struct{}, 1),
	}
	em, err := opts.Store.Emergency(ctx)
	if err != nil {
		return nil, err
	}
	n.view.setEmergency(em)
	n.catchUp(ctx)
	return n, nil
}

// catchUp reads what the stream already holds after Start before the node
// serves, so a client resuming here with an id another instance sent is
// found in the history rather than reset as unknown. Redis being away is
// not an error here: follow retries.
func (n *Node) catchUp(ctx context.Context) {
	for range 1000 {
		evs, err := n.events.Read(ctx, n.view.position(), 1000, 0)
		if err != nil || len(evs) == 0 {
			return
		}
		n.opts.Hub.Publish(evs...)
		n.view.apply(evs)
	}
}

// Run follows the stream and takes part in the election until ctx ends;
// then it stops evaluating and gives the lease up so another instance takes
// over at once.
func (n *Node) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); n.follow(ctx) }()
	n.elect(ctx)
	wg.Wait()
}

// Role is what the node does now.
func (n *Node) Role() Role {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.role
}

// Holder is this node's name in the lease.
func (n *Node) Holder() string { return n.lease.Holder() }

func (n *Node) setRedisErr(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil && n.redisErr == nil {
		n.log.Warn("redis unreachable", "err", err)
	}
	if err == nil && n.redisErr != nil {
		n.log.Info("redis reachable again")
	}
	n.redisErr = err
}

// signalDeposed tells the election loop the lease is lost. It never blocks:
// it is called with the engine's lock held.
func (n *Node) signalDeposed() {
	select {
	case n.deposed <- struct{}{}:
	default:
	}
}
