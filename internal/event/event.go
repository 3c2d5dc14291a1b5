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

// Frame returns the event encoded as an SSE frame, computed once per event
// however many subscribers receive it. The encoder is installed by the sse
// package (see SetEncoder) so this package stays free of wire details.
func (e *Event) Frame() []byte {
	e.frameOnce.Do(func() { e.frame = encoder(e) })
	return e.frame
}

var encoder = func(e *Event) []byte { return append([]byte(nil), e.Data...) }

// SetEncoder installs the wire encoder. Call it once, at init time.
func SetEncoder(f func(*Event) []byte) { encoder = f }

// Deflated returns the event's frame compressed, once per event, for every
// subscriber whose stream is compressed (see SetDeflater).
func (e *Event) Deflated() []byte {
	e.deflateOnce.Do(func() { e.deflated = deflater(e.Frame()) })
	return e.deflated
}

var deflater = func(b []byte) []byte { return b }

// SetDeflater installs the compressor of Deflated. Call it once, at init time.
func SetDeflater(f func([]byte) []byte) { deflater = f }
