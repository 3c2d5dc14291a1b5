package redisbus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// appendScript adds events to the stream under their own ids, only while
// the caller's fence still matches the lease. ARGV: fence value, MAXLEN,
// then 7 values per event (id, topic, type, key, state key, drop, data).
// The ids are checked against the stream's newest entry before anything is
// written, so a batch goes in whole or not at all.
var appendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #top > 0 then
  local tm, ts = string.match(top[1][1], '(%d+)-(%d+)')
  local fm, fs = string.match(ARGV[3], '(%d+)-(%d+)')
  tm, ts, fm, fs = tonumber(tm), tonumber(ts), tonumber(fm), tonumber(fs)
  if fm < tm or (fm == tm and fs <= ts) then return -2 end
end
local n = 0
for i = 3, #ARGV, 7 do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], ARGV[i],
    't', ARGV[i+1], 'y', ARGV[i+2], 'k', ARGV[i+3], 's', ARGV[i+4], 'd', ARGV[i+5], 'p', ARGV[i+6])
  n = n + 1
end
return n`)

// ErrOutOfOrder is returned when events are appended at or below the
// stream's newest id (a leader whose sequence was not seeded above it).
var ErrOutOfOrder = errors.New("redisbus: event id not above the stream's newest")

// Log is the shared event stream.
type Log struct {
	rdb    *redis.Client
	keys   Keys
	maxLen int64
}

// NewLog opens the event stream, trimmed to about maxLen entries.
func NewLog(rdb *redis.Client, keys Keys, maxLen int64) *Log {
	if maxLen <= 0 {
		maxLen = 100000
	}
	return &Log{rdb: rdb, keys: keys, maxLen: maxLen}
}

// Append adds events (ids increasing) under fence. ErrFenced means the lease
// is no longer the caller's and nothing was written.
func (l *Log) Append(ctx context.Context, f Fence, events ...*event.Event) error {
	if len(events) == 0 {
		return nil
	}
	args := make([]any, 0, 2+7*len(events))
	args = append(args, f.Value, l.maxLen)
	for _, e := range events {
		drop := ""
		if e.StateDrop {
			drop = "1"
		}
		args = append(args, e.ID.String(), string(e.Topic), e.Type, e.Key, e.StateKey, drop, e.Data)
	}
	n, err := appendScript.Run(ctx, l.rdb, []string{l.keys.Lease, l.keys.Events}, args...).Int64()
	switch {
	case err != nil:
		return err
	case n == -1:
		return ErrFenced
	case n == -2:
		return ErrOutOfOrder
	}
	return nil
}

// Read returns the events after id, oldest first, at most count, waiting up
// to block for the first one (0: do not wait). No events and no error means
// the wait ended empty.
func (l *Log) Read(ctx context.Context, after event.ID, count int64, block time.Duration) ([]*event.Event, error) {
	if block <= 0 {
		msgs, err := l.rdb.XRangeN(ctx, l.keys.Events, "("+after.String(), "+", count).Result()
		if err != nil {
			return nil, err
		}
		return decodeAll(msgs)
	}
	res, err := l.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{l.keys.Events, after.String()}, Count: count, Block: block}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*event.Event
	for _, s := range res {
		evs, err := decodeAll(s.Messages)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

// Bounds returns the ids of the oldest and newest entries (zero when empty).
func (l *Log) Bounds(ctx context.Context) (first, last event.ID, err error) {
	old, err := l.rdb.XRangeN(ctx, l.keys.Events, "-", "+", 1).Result()
	if err != nil {
		return 0, 0, err
	}
	newest, err := l.rdb.XRevRangeN(ctx, l.keys.Events, "+", "-", 1).Result()
	if err != nil {
		return 0, 0, err
	}
	if len(old) > 0 {
		if first, err = event.ParseID(old[0].ID); err != nil {
			return 0, 0, err
		}
	}
	if len(newest) > 0 {
		if last, err = event.ParseID(newest[0].ID); err != nil {
			return 0, 0, err
		}
	}
	return first, last, nil
}

func decodeAll(msgs []redis.XMessage) ([]*event.Event, error) {
	out := make([]*event.Event, 0, len(msgs))
	for _, m := range msgs {
		e, err := decode(m)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func decode(m redis.XMessage) (*event.Event, error) {
	id, err := event.ParseID(m.ID)
	if err != nil {
		return nil, err
	}
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	e := &event.Event{ID: id, Topic: event.Topic(str("t")), Type: str("y"), Key: str("k"),
		StateKey: str("s"), StateDrop: str("d") == "1", Data: []byte(str("p")), At: id.Time()}
	if !e.Topic.Valid() {
		return nil, fmt.Errorf("redisbus: entry %s has unknown topic %s", m.ID, strconv.Quote(str("t")))
	}
	return e, nil
}
