package mqtt

import (
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// inbound is a message as it arrived, tagged with its connection.
type inbound struct {
	msg      paho.Message
	gen      uint64
	received time.Time
}

// queue is what Paho handed over and the engine has not taken yet.
//
// It is bounded, in messages and in payload bytes, by the engine itself:
// the broker's window of unacknowledged messages cannot be relied on. A
// broker may have none (max_inflight_messages 0), and Debian's mosquitto
// 2.0.11 with max_inflight_messages 1000 and persistence off was measured,
// from its own debug log, sending up to 87,000 messages ahead of their
// acknowledgements in a 5 s run; a persistent session's backlog after an
// hour away would be millions of readings. When the queue is full, push
// waits: Paho's router waits with it, its reader stops reading, and TCP's
// flow control holds the broker back. The
// acknowledgements do not wait behind it (Paho sends them from another
// goroutine), so the engine keeps draining it. A message that waited
// through a lost connection or a stop is dropped unacknowledged: the broker
// sends it again.
type queue struct {
	mu       sync.Mutex
	room     sync.Cond // items were taken, or the queue was cleared or closed
	items    []inbound
	spare    []inbound // a taken slice, given back (recycle)
	bytes    int
	maxItems int
	maxBytes int
	closed   bool
	ready    chan struct{}
}

func (q *queue) init(maxItems, maxBytes int) {
	q.ready = make(chan struct{}, 1)
	q.room.L = &q.mu
	q.maxItems, q.maxBytes = maxItems, maxBytes
}

// push adds in, waiting while the queue is full. One message always fits
// an empty queue, whatever its size (MaxPayload bounds it).
func (q *queue) push(in inbound) {
	size := len(in.msg.Payload())
	q.mu.Lock()
	for !q.closed && len(q.items) > 0 && (len(q.items) >= q.maxItems || q.bytes+size > q.maxBytes) {
		q.room.Wait()
	}
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, in)
	q.bytes += size
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// takeAll takes what waits. The caller hands the slice back with recycle
// once it is done with it, and the queue fills it again: no growing a
// new one from nothing on every take.
func (q *queue) takeAll() []inbound {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items, q.spare, q.bytes = q.spare, nil, 0
	q.room.Broadcast()
	return items
}

// recycle gives back a slice takeAll returned.
func (q *queue) recycle(items []inbound) {
	clear(items) // the messages go to the collector
	q.mu.Lock()
	if q.spare == nil && cap(items) <= q.maxItems {
		q.spare = items[:0]
	}
	q.mu.Unlock()
}

// clear drops what waits: the connection it came on is gone.
func (q *queue) clear() { q.recycle(q.takeAll()) }

// close drops what waits and makes every push return at once, for good.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.items, q.bytes = nil, 0
	q.room.Broadcast()
	q.mu.Unlock()
}

// len is how many messages wait (for tests).
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
