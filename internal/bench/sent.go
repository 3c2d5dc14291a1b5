package bench

import (
	"sync"
	"sync/atomic"
	"time"
)

// sentTable remembers every reading the benchmark sent, keyed by zone and
// timestamp, with its send time at nanosecond resolution (the wire carries
// only milliseconds) and how many streams have received it so far. Readers
// (one per stream, thousands) look up; one sender writes a few hundred times
// a second, so a read-write lock costs the readers one atomic add.
type sentTable struct {
	start time.Time      // monotonic base of every recorded instant
	zones map[string]int // zone id -> index; read-only after newSentTable

	mu sync.RWMutex
	m  map[uint64]*sentReading
}

type sentReading struct {
	at  int64 // ns since start, just before the POST
	got atomic.Int64
}

// maxZones bounds the zone index packed into a key.
const maxZones = 1 << 12

func newSentTable(zones []string, start time.Time) *sentTable {
	t := &sentTable{start: start, zones: make(map[string]int, len(zones)), m: map[uint64]*sentReading{}}
	for i, z := range zones {
		t.zones[z] = i
	}
	return t
}

func sentKey(zone int, ts int64) uint64 { return uint64(ts)<<12 | uint64(zone) }

// now is the time since start (monotonic).
func (t *sentTable) now() int64 { return int64(time.Since(t.start)) }

// add records readings as sent now and returns their entries.
func (t *sentTable) add(rs []reading) []*sentReading {
	at := t.now()
	out := make([]*sentReading, len(rs))
	t.mu.Lock()
	for i, r := range rs {
		s := &sentReading{at: at}
		t.m[sentKey(t.zones[r.zone], r.ts)] = s
		out[i] = s
	}
	t.mu.Unlock()
	return out
}

// remove forgets readings the engine refused, so that an arrival of them
// (there should be none) is not counted.
func (t *sentTable) remove(rs []reading) {
	t.mu.Lock()
	for _, r := range rs {
		delete(t.m, sentKey(t.zones[r.zone], r.ts))
	}
	t.mu.Unlock()
}

// lookup finds a sent reading by the zone id bytes and timestamp of an
// arrival. The zone map lookup with string(zone) does not allocate.
func (t *sentTable) lookup(zone []byte, ts int64) *sentReading {
	i, ok := t.zones[string(zone)]
	if !ok {
		return nil
	}
	t.mu.RLock()
	s := t.m[sentKey(i, ts)]
	t.mu.RUnlock()
	return s
}
