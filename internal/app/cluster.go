package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crowdrisk/crowdrisk/internal/api"
	"github.com/crowdrisk/crowdrisk/internal/cluster"
	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/datadir"
	"github.com/crowdrisk/crowdrisk/internal/engine"
	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/redisbus"
	"github.com/crowdrisk/crowdrisk/internal/store"
	"github.com/crowdrisk/crowdrisk/internal/store/postgres"
	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
)

// liveEngine is what the app runs and serves: the engine itself (one
// instance), or a cluster node (one of several, see docs/deployment.md).
type liveEngine interface {
	api.Engine
	Run(ctx context.Context)
	Ready(ctx context.Context) error
}

var (
	_ liveEngine = (*engine.Engine)(nil)
	_ liveEngine = (*cluster.Node)(nil)
)

// clusterParts exist only with --redis.
type clusterParts struct {
	rdb    *redis.Client
	keys   redisbus.Keys
	events *redisbus.Log
	node   *cluster.Node
}

// openStore opens PostgreSQL with --postgres, else the SQLite file in the
// data directory.
func (a *App) openStore(ctx context.Context) (store.Store, error) {
	if a.cfg.Postgres != "" {
		s, err := postgres.Open(ctx, a.cfg.Postgres)
		if err != nil {
			return nil, fmt.Errorf("store (postgres): %w", err)
		}
		return s, nil
	}
	// One engine per data directory (internal/datadir); held until the
	// store is closed.
	lock, err := datadir.Acquire(a.cfg.DataDir, "crowdrisk serve --addr "+a.cfg.Addr)
	if err != nil {
		return nil, err
	}
	a.dirLock = lock
	path := filepath.Join(a.cfg.DataDir, "crowdrisk.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return s, nil
}

// clusterFloor connects to Redis and chooses where this instance follows
// the shared stream from, which is also its hub's floor.
func (a *App) clusterFloor(ctx context.Context, storeLast event.ID) (event.ID, error) {
	rdb, err := redisbus.Open(a.cfg.Redis)
	if err != nil {
		return 0, err
	}
	keys := redisbus.NewKeys(a.cfg.RedisPrefix)
	a.cluster = &clusterParts{rdb: rdb, keys: keys, events: redisbus.NewLog(rdb, keys, int64(a.cfg.StreamMaxLen))}
	return cluster.StartPosition(ctx, a.cluster.events, storeLast, time.Now(), a.cfg.HistoryAge), nil
}

// newClusterNode builds the node over the hub (after clusterFloor) and
// seeds the hub's snapshot from the shared store.
func (a *App) newClusterNode(ctx context.Context, floor event.ID, obs engine.Observer) error {
	states, err := cluster.StateEvents(ctx, a.store)
	if err != nil {
		return err
	}
	a.hub.Seed(states...)
	// Each zone's last stored reading, with its age, until the stream has
	// a newer one (after a restart of every instance, nobody else has it).
	latest, err := engine.StoredDensityStateEvents(ctx, a.store, a.venue)
	if err != nil {
		return err
	}
	a.hub.Seed(latest...)
	host, _ := os.Hostname()
	a.cluster.node, err = cluster.New(ctx, cluster.Options{
		Redis: a.cluster.rdb, Keys: a.cluster.keys, Store: a.store, Hub: a.hub, Start: floor,
		Venue: a.venue, Rules: a.cfg.Rules(), MaxClockSkew: a.cfg.MaxClockSkew,
		Name:     host + "@" + a.cfg.Addr,
		LeaseTTL: a.cfg.LeaseTTL, RenewEvery: a.cfg.LeaseTTL / 3, ForwardTimeout: a.cfg.ForwardTimeout,
		StreamMaxLen: int64(a.cfg.StreamMaxLen), Logger: a.log, Observer: obs, History: a.cfg.History(),
	})
	return err
}

// live is the engine the API and the producers talk to.
func (a *App) live() liveEngine {
	if a.cluster != nil && a.cluster.node != nil {
		return a.cluster.node
	}
	return a.engine
}

// simIngest feeds the simulator's readings. With several instances only
// the leader's simulator feeds, or every instance would add its own crowd.
func (a *App) simIngest(ctx context.Context, in []crowd.ReadingInput) error {
	if a.cluster != nil && a.cluster.node.Role() != cluster.RoleLeader {
		return nil
	}
	_, err := a.live().Ingest(ctx, in)
	return err
}

// ready is /readyz's check. With --redis it says what each dependency and
// the role are, so that a load balancer and an operator see the same thing.
func (a *App) ready(ctx context.Context) (map[string]any, error) {
	if a.cluster == nil {
		return a.mqttReady(nil), a.live().Ready(ctx)
	}
	st := a.cluster.node.Status(ctx)
	details := map[string]any{"role": st.Role, "store": st.Store, "redis": st.Redis,
		"leader": st.Leader, "instance": st.Self}
	return a.mqttReady(details), st.Err()
}

func (a *App) closeCluster() {
	if a.cluster != nil && a.cluster.rdb != nil {
		_ = a.cluster.rdb.Close()
	}
}
