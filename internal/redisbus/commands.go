package redisbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// doneScript records that the leader has handled a command: it moves the
// persisted read position past it and hands the reply to the waiting
// instance, both only while the fence holds. ARGV: fence, entry id, reply
// key ("" for none), reply payload, reply TTL in ms.
var doneScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[2], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('RPUSH', ARGV[3], ARGV[4])
  redis.call('PEXPIRE', ARGV[3], ARGV[5])
end
return 1`)

// ErrNoReply is returned by Submit when no leader answered in time and the
// command was withdrawn before any leader took it: it will never run.
var ErrNoReply = errors.New("redisbus: no reply from the leader in time")

// ErrOutcomeUnknown is returned by Submit when a leader took the command
// (Claim) but did not answer within the extra wait: it may have run.
var ErrOutcomeUnknown = errors.New("redisbus: the leader took the command but did not answer in time")

// claimTTL keeps a command's claim long enough for both sides to see it.
const claimTTL = time.Minute

// runningWait is how long a submitter whose command a leader has claimed
// keeps waiting for its answer: a commit's own bound, and a little more.
const runningWait = 12 * time.Second

// Command is one request to the leader.
type Command struct {
	ID       string // stream entry id, set by Redis
	Op       string
	Body     []byte
	Reply    string    // key the reply goes to
	Deadline time.Time // zero: execute however late (readings)
}

// Queue is the command stream: followers submit, the leader consumes.
type Queue struct {
	rdb    *redis.Client
	keys   Keys
	maxLen int64
}

// NewQueue opens the command stream, trimmed to about maxLen entries (far
// more than a leader can fall behind during a takeover).
func NewQueue(rdb *redis.Client, keys Keys, maxLen int64) *Queue {
	if maxLen <= 0 {
		maxLen = 100000
	}
	return &Queue{rdb: rdb, keys: keys, maxLen: maxLen}
}

// Submit queues a command and waits up to wait for the leader's reply.
// deadline tells the leader to skip the command when it gets to it too late
// (an operator's click that already got a 503 must not fire later); a zero
// deadline means the command is executed whenever a leader reaches it.
func (q *Queue) Submit(ctx context.Context, op string, body []byte, deadline time.Time, wait time.Duration) ([]byte, error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	reply := q.keys.Reply + hex.EncodeToString(b[:])
	dl := int64(0)
	if !deadline.IsZero() {
		dl = deadline.UnixMilli()
	}
	err := q.rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.keys.Commands, MaxLen: q.maxLen, Approx: true,
		Values: []any{"o", op, "b", body, "r", reply, "d", dl}}).Err()
	var res []string
	if err == nil {
		res, err = q.rdb.BLPop(ctx, wait, reply).Result()
		if err == nil {
			return []byte(res[1]), nil
		}
	}
	if deadline.IsZero() {
		// Readings: never withdrawn (sending one again is harmless).
		if errors.Is(err, redis.Nil) {
			return nil, ErrNoReply
		}
		return nil, err
	}
	// An operator command that got no answer, for whatever reason (no
	// leader, a lost connection, even a failed XADD that Redis may have
	// applied): withdraw it unless a leader has taken it. The claim decides
	// atomically which of the two happens, so a 503 never stands for a
	// command that runs later.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	withdrawn, cerr := q.rdb.SetNX(wctx, reply+claimSuffix, "withdrawn", claimTTL).Result()
	switch {
	case cerr != nil:
		return nil, ErrOutcomeUnknown
	case withdrawn && errors.Is(err, redis.Nil):
		return nil, ErrNoReply
	case withdrawn:
		return nil, err
	}
	res, err = q.rdb.BLPop(ctx, runningWait, reply).Result()
	if err != nil {
		return nil, ErrOutcomeUnknown
	}
	return []byte(res[1]), nil
}

// claimSuffix names a command's claim key, beside its reply list.
const claimSuffix = ":claim"

// Claim takes a command with a deadline for the leader before it runs it:
// false means the submitter withdrew it (it answered 503), and it must not
// run. A claim by an earlier leader is taken over: that leader can no longer
// commit (the new one raised the fence), so the command is the new one's.
// Commands without a deadline (readings) are never withdrawn.
func (q *Queue) Claim(ctx context.Context, c Command) (bool, error) {
	if c.Deadline.IsZero() || c.Reply == "" {
		return true, nil
	}
	v, err := claimScript.Run(ctx, q.rdb, []string{c.Reply + claimSuffix}, claimTTL.Milliseconds()).Text()
	if err != nil {
		return false, err
	}
	return v == "running", nil
}

// claimScript sets the claim to "running" unless the submitter withdrew the
// command, atomically, and returns what the claim is then.
var claimScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v == "withdrawn" then return v end
redis.call("SET", KEYS[1], "running", "PX", ARGV[1])
return "running"
`)

// Position is where the leader's consumption stands ("0-0" at the start).
func (q *Queue) Position(ctx context.Context) (string, error) {
	v, err := q.rdb.Get(ctx, q.keys.Position).Result()
	if errors.Is(err, redis.Nil) {
		return "0-0", nil
	}
	return v, err
}

// Read returns the commands after id, waiting up to block for one.
func (q *Queue) Read(ctx context.Context, after string, count int64, block time.Duration) ([]Command, error) {
	res, err := q.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{q.keys.Commands, after}, Count: count, Block: block}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Command
	for _, s := range res {
		for _, m := range s.Messages {
			str := func(k string) string { v, _ := m.Values[k].(string); return v }
			c := Command{ID: m.ID, Op: str("o"), Body: []byte(str("b")), Reply: str("r")}
			if ms, _ := strconv.ParseInt(str("d"), 10, 64); ms > 0 {
				c.Deadline = time.UnixMilli(ms)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// Done records a handled command and delivers its reply, under fence.
func (q *Queue) Done(ctx context.Context, f Fence, c Command, reply []byte) error {
	n, err := doneScript.Run(ctx, q.rdb, []string{q.keys.Lease, q.keys.Position},
		f.Value, c.ID, c.Reply, reply, time.Minute.Milliseconds()).Int64()
	if err != nil {
		return err
	}
	if n != 1 {
		return ErrFenced
	}
	return nil
}
