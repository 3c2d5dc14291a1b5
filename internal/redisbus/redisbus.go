// Package redisbus is the multi-instance plumbing on Redis: a lease that
// elects one evaluating instance (with a fencing token), the shared event
// log every instance follows (a Redis Stream whose entry ids are the
// engine's event ids), and the command queue through which followers hand
// readings and operator actions to the leader.
//
// Every write the leader makes on behalf of its lease (appending events,
// advancing the command position, replying) runs in a Lua script that first
// checks that the lease still holds the leader's own value, so a deposed
// leader that wakes up from a pause cannot write anything.
package redisbus

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ErrFenced is returned by a fenced write when the caller no longer holds the
// lease: another instance has taken over (or the lease expired).
var ErrFenced = errors.New("redisbus: lease lost (fenced)")

// Keys names the Redis keys of one deployment. Several deployments can share
// a Redis under different prefixes.
type Keys struct {
	Lease    string // the leader's lease (its value carries the fencing token)
	Token    string // the fencing-token counter
	Events   string // the event stream
	Commands string // the command stream
	Position string // the leader's read position in the command stream
	Reply    string // prefix of per-request reply lists
}

// NewKeys derives the keys from a prefix such as "crowdrisk:".
func NewKeys(prefix string) Keys {
	return Keys{
		Lease:    prefix + "leader",
		Token:    prefix + "leader:token",
		Events:   prefix + "events",
		Commands: prefix + "commands",
		Position: prefix + "commands:position",
		Reply:    prefix + "reply:",
	}
}

// Open connects to the Redis of url (redis://host:port/db). It does not
// wait for the server: an instance starts while Redis is down and says so in
// /readyz until it comes back.
func Open(url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	// Fail fast: a blocked leader must notice a dead Redis well inside its
	// lease time, and /readyz must answer within its own timeout.
	opts.DialTimeout = 500e6
	opts.ReadTimeout = 1e9
	opts.WriteTimeout = 1e9
	opts.MaxRetries = 1
	return redis.NewClient(opts), nil
}
