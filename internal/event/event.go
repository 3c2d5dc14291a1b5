package event

import (
	"sync"
	"time"
)

// Topic names a stream a client can subscribe to.
type Topic string

const (
	// TopicDensity carries readings; it is conflatable and kept in memory only.
	TopicDensity Topic = "density"
	// TopicAlerts carries alerts and emergency-mode changes; it is durable.
	TopicAlerts Topic = "alerts"
)

// Topics lists every topic in a fixed order.
var Topics = []Topic{TopicDensity, TopicAlerts}

// Durable reports whether events of the topic are written to the store before
// they are published, so that they can be replayed after a restart.
func (t Topic) Durable() bool { return t == TopicAlerts }

// Valid reports whether t is a known topic.
func (t Topic) Valid() bool { return t == TopicDensity || t == TopicAlerts }

// Message types, the "type" field of the JSON payload (the seed's format).
const (
	TypeConnected = "connected"
	TypeDensity   = "density"
	TypeAlert     = "alert"
	TypeEmergency = "emergency"
	// TypeReset tells a client that its Last-Event-ID could not be resumed
	// (unknown, or older than the history) and that a snapshot follows.
	TypeReset = "reset"
	// TypeSnapshotLimit ends a snapshot that left open alerts out (see
	// hub.MaxSnapshotAlerts): data says how many, and where the rest are.
	TypeSnapshotLimit = "snapshot-limit"
)

// Event is one message of a stream. Data is the complete JSON payload,
// {"type":...,"data":...}, encoded once and shared by every subscriber.
type Event struct {
	ID    ID
	Topic Topic
	Type  string
	// Key groups events that supersede each other (a zone id for density).
	// A slow subscriber keeps only the newest pending event per key. Empty
	// means the event is never conflated and never dropped.
	Key string
	// StateKey names the piece of state the event sets ("zone:<id>",
	// "alert:<id>", "emergency"): the hub keeps the newest event per state key
	// and sends those as the snapshot a new subscriber starts from.
	StateKey string
	// StateDrop removes StateKey from the snapshot (a resolved alert).
	StateDrop bool
	// Severity ranks state events when a snapshot must leave some out
	// (the higher kept first): an alert's level.
	Severity int
	Data     []byte
	// At is when the event was published (for age-bounded history).
	At time.Time

	frameOnce sync.Once
	frame     []byte

	deflateOnce sync.Once
	deflated    []byte
}

// Codec is the wire encoding of events: the frame a stream sends for an
// event, and that frame compressed. This package knows no wire; the stream
// server passes its codec (internal/sse's Codec) to Frame and Deflated, so
// an event's bytes never depend on which packages happen to be imported.
type Codec interface {
	Frame(*Event) []byte
	// Deflate compresses a frame (a gzip stream's shared segment).
	Deflate(frame []byte) []byte
}

// Frame returns the event encoded by c, computed once per event however
// many subscribers receive it. The bytes are cached with the event, so a
// process uses one codec for its streams.
func (e *Event) Frame(c Codec) []byte {
	e.frameOnce.Do(func() { e.frame = c.Frame(e) })
	return e.frame
}

// Deflated returns the event's frame compressed by c, once per event, for
// every subscriber whose stream is compressed.
func (e *Event) Deflated(c Codec) []byte {
	e.deflateOnce.Do(func() { e.deflated = c.Deflate(e.Frame(c)) })
	return e.deflated
}
