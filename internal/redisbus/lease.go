package redisbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// acquireScript takes the lease if it is free and, in the same atomic step,
// draws the next fencing token. The lease value is "<token>:<holder>", so
// it is unique even after a Redis restart reset the counter.
var acquireScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
local value = token .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value`)

// renewScript extends the lease only for its holder.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes the lease only for its holder.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Lease is one contender for leadership. It is not safe for concurrent use:
// one goroutine (the election loop) drives it.
type Lease struct {
	rdb    *redis.Client
	keys   Keys
	ttl    time.Duration
	holder string // this contender's name, unique per process
	held   Fence  // zero when not held
}

// Fence is proof of holding the lease: the value the lease must still have
// for a fenced write to go through, and the fencing token inside it.
type Fence struct {
	Value string
	Token int64
}

// IsZero reports whether f is no fence at all.
func (f Fence) IsZero() bool { return f.Value == "" }

// NewLease makes a contender named name (a random suffix keeps two processes
// with the same name apart). ttl is how long the lease lives without renewal.
func NewLease(rdb *redis.Client, keys Keys, name string, ttl time.Duration) *Lease {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Lease{rdb: rdb, keys: keys, ttl: ttl, holder: name + "/" + hex.EncodeToString(b[:])}
}

// Holder is this contender's unique name.
func (l *Lease) Holder() string { return l.holder }

// Acquire takes the lease when it is free. ok is false when another holds it.
func (l *Lease) Acquire(ctx context.Context) (f Fence, ok bool, err error) {
	v, err := acquireScript.Run(ctx, l.rdb, []string{l.keys.Lease, l.keys.Token}, l.holder, l.ttl.Milliseconds()).Text()
	if errors.Is(err, redis.Nil) {
		return Fence{}, false, nil
	}
	if err != nil {
		return Fence{}, false, err
	}
	tok, _, _ := strings.Cut(v, ":")
	n, err := strconv.ParseInt(tok, 10, 64)
	if err != nil {
		return Fence{}, false, errors.New("redisbus: malformed lease value " + strconv.Quote(v))
	}
	l.held = Fence{Value: v, Token: n}
	return l.held, true, nil
}

// Renew extends a held lease. It returns ErrFenced (and forgets the lease)
// when the lease is no longer ours.
func (l *Lease) Renew(ctx context.Context) error {
	if l.held.IsZero() {
		return ErrFenced
	}
	n, err := renewScript.Run(ctx, l.rdb, []string{l.keys.Lease}, l.held.Value, l.ttl.Milliseconds()).Int64()
	if err != nil {
		return err
	}
	if n != 1 {
		l.held = Fence{}
		return ErrFenced
	}
	return nil
}

// Release gives the lease up at once (an orderly shutdown), so another
// instance takes over without waiting for the TTL.
func (l *Lease) Release(ctx context.Context) error {
	if l.held.IsZero() {
		return nil
	}
	v := l.held.Value
	l.held = Fence{}
	return releaseScript.Run(ctx, l.rdb, []string{l.keys.Lease}, v).Err()
}

// Leader returns the current lease value ("" when nobody holds it).
func Leader(ctx context.Context, rdb *redis.Client, keys Keys) (string, error) {
	v, err := rdb.Get(ctx, keys.Lease).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}
