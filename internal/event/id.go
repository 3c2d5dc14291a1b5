// Package event owns the unit of the live streams: an Event with a globally
// ordered ID, and the Sequencer that hands those IDs out.
//
// An ID has the shape of a Redis Stream entry id, "<milliseconds>-<sequence>",
// packed into one uint64 so that it compares, sorts and stores as an integer.
// Because the high bits are wall-clock milliseconds, ids keep increasing
// across a restart even for events that were never persisted, and an engine
// that shares a Redis Stream (see internal/redisbus) can use Redis' own ids
// unchanged: a client may resume on any instance.
package event

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// seqBits is the width of the per-millisecond sequence. 2^20 events in one
// millisecond is far beyond any ingest rate the engine can reach.
const seqBits = 20

const seqMask = 1<<seqBits - 1

// MaxSeq is the largest sequence number that fits in an ID.
const MaxSeq = seqMask

// ID orders every event of an engine (all topics share one sequence, so a
// multiplexed stream has one Last-Event-ID). The zero ID means "none".
type ID uint64

// NewID packs a millisecond timestamp and a sequence number.
func NewID(ms int64, seq uint64) ID {
	if ms < 0 {
		ms = 0
	}
	if seq > seqMask {
		seq = seqMask
	}
	return ID(uint64(ms)<<seqBits | seq)
}

// Ms is the millisecond part.
func (id ID) Ms() int64 { return int64(uint64(id) >> seqBits) }

// Seq is the sequence within the millisecond.
func (id ID) Seq() uint64 { return uint64(id) & seqMask }

// IsZero reports whether id is the "no event" id.
func (id ID) IsZero() bool { return id == 0 }

// String renders "<ms>-<seq>", the form sent on the wire as the SSE id.
func (id ID) String() string {
	return strconv.FormatInt(id.Ms(), 10) + "-" + strconv.FormatUint(id.Seq(), 10)
}

// Time is the wall-clock instant encoded in the id.
func (id ID) Time() time.Time { return time.UnixMilli(id.Ms()) }

// ParseID reads the wire form. A bare integer is read as "<ms>-0" so that
// hand-written ids (and Redis' shorthand) are accepted.
func ParseID(s string) (ID, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("event id: empty")
	}
	msPart, seqPart, hasSeq := strings.Cut(s, "-")
	ms, err := strconv.ParseInt(msPart, 10, 64)
	if err != nil || ms < 0 || ms > int64(^uint64(0)>>seqBits) {
		return 0, fmt.Errorf("event id %q: bad milliseconds", s)
	}
	var seq uint64
	if hasSeq {
		seq, err = strconv.ParseUint(seqPart, 10, 64)
		if err != nil || seq > seqMask {
			return 0, fmt.Errorf("event id %q: bad sequence", s)
		}
	}
	return NewID(ms, seq), nil
}
