// Package store declares what the engine persists and the backends keep:
// alerts, emergency mode, the durable events of the alert stream (for replay
// across restarts) and the incident log (the after-action timeline and
// audit trail). Backends live in sqlite/ and postgres/; storetest/ is the
// conformance suite both must pass.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/event"
)

// Batch is everything one engine step changes. A backend applies it in one
// transaction: all of it, or nothing. The engine commits a batch before it
// publishes any of its events, so no client sees what a crash could undo
// (unless the store itself is failing: see engine.apply).
type Batch struct {
	// Alerts are upserted by ID (the whole alert replaces the stored one).
	Alerts []crowd.Alert
	// Emergency, when SetEmergency is true, replaces the emergency state
	// (nil ends it).
	SetEmergency bool
	Emergency    *crowd.EmergencyMode
	// Events are the durable events (alert topic) with their ids assigned.
	Events []StoredEvent
	// Incidents are appended to the incident log; the store assigns Seq.
	Incidents []crowd.Incident
	// Fence, when not zero, is the lease token of the instance that
	// commits (internal/cluster). The store checks it in the same
	// transaction as the batch and refuses the batch with ErrFenced once a
	// batch with a higher token has been committed: a leader deposed while
	// it was paused can never commit after its successor, whatever its own
	// clock says.
	Fence int64
	// Command, when not empty, is the idempotency key of the operator
	// command the batch carries out. It is recorded in the same
	// transaction, so CommandDone is true exactly when its effects are
	// committed: a leader that takes over a command its predecessor
	// carried out but never answered does not carry it out twice.
	Command string
	// Sensors are upserted by zone and sensor id: the engine's registry of
	// the sensors it has heard from, so that a restarted engine (or a new
	// leader) still notices one that falls silent.
	Sensors []SensorState
	// Counters are upserted by zone: each zone's door-counter balance
	// (crowd/counters.go), replaced whole. Doors are upserted by zone and
	// sensor id: when each door's last counted report was sent (never
	// moved back). The engine commits them with the readings that changed
	// them, so that a restarted engine or a new leader continues the
	// balance (a full stand must not show empty) and counts no report
	// twice.
	Counters []CounterState
	Doors    []DoorState
	// Through, when not zero, is the engine's word that once this batch is
	// committed every durable event with an id up to Through is stored (it
	// commits in id order, so a batch is only committed after every earlier
	// one). LastEventID reports at least Through, so the next process
	// continues above it and knows how far the store is complete.
	Through event.ID
	// Lost records ranges of ids whose durable events may never reach the
	// store (a process that died with commits waiting, events dropped at the
	// engine's outbox bound). EventsAfter reports covered=false to a client
	// whose last id falls inside one: it may have seen what the store lacks.
	Lost []Gap
}

// UnavailableError wraps a failure to reach the store at all (the server
// down or restarting, the connection refused): not a fault of the request,
// so the API answers 503 "try again", not 500.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "store unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// ErrFenced is Commit's answer to a batch whose Fence is lower than one
// already committed.
var ErrFenced = errors.New("store: a newer leader has committed since; this instance is fenced")

// Gap is the open range of event ids (After, Before). A client whose last
// id lies strictly inside it may have been shown events the store does not
// have, and must be reset instead of resumed.
type Gap struct {
	After, Before event.ID
}

// Contains reports whether id lies strictly inside the gap.
func (g Gap) Contains(id event.ID) bool { return g.After < id && id < g.Before }

// SensorState is what the store keeps of one sensor: when it was last
// heard from, by the engine's clock (ms since the epoch).
type SensorState struct {
	ZoneID   string
	SensorID string
	LastSeen int64
}

// CounterState is a zone's door-counter balance: persons counted in and not
// out, never below zero; the shortfall clamped away since the last reset or
// count; and the scheduled reset last applied (ms since the epoch, 0: none).
type CounterState struct {
	ZoneID  string
	Persons int
	Clamped int
	ResetAt int64
}

// DoorState is the sensor's own timestamp (ms since the epoch) of a door
// counter's last counted report.
type DoorState struct {
	ZoneID   string
	SensorID string
	Counted  int64
}

// Empty reports whether the batch changes nothing.
func (b *Batch) Empty() bool {
	return len(b.Alerts) == 0 && !b.SetEmergency && len(b.Events) == 0 && len(b.Incidents) == 0 && len(b.Sensors) == 0 && b.Fence == 0 &&
		b.Through.IsZero() && len(b.Lost) == 0 && len(b.Counters) == 0 && len(b.Doors) == 0
}

// StoredEvent is an event as persisted: enough to put it back on the wire.
type StoredEvent struct {
	ID    event.ID
	Topic event.Topic
	Type  string
	Data  []byte
	At    time.Time
}

// AlertFilter selects alerts. Zero values select everything.
type AlertFilter struct {
	Status crowd.AlertStatus // "" for all
	Open   bool              // only alerts not resolved (active or acknowledged)
	ZoneID string
	Limit  int // 0 for the backend's default (1000)
}

// IncidentFilter selects incident-log entries, oldest first.
type IncidentFilter struct {
	ZoneID string
	Since  int64 // ms since epoch, inclusive; 0 for the beginning
	Until  int64 // ms since epoch, exclusive; 0 for no end
	After  int64 // only entries with Seq greater than this (paging)
	Limit  int   // 0 for the backend's default (10000)
}

// Store is the persistence the engine needs. Implementations are safe for
// concurrent use.
type Store interface {
	// Commit applies a batch atomically.
	Commit(ctx context.Context, b Batch) error
	// Alerts lists alerts, newest first.
	Alerts(ctx context.Context, f AlertFilter) ([]crowd.Alert, error)
	// Alert returns one alert, or a crowd.Error with code ErrNotFound.
	Alert(ctx context.Context, id string) (crowd.Alert, error)
	// Emergency returns the current emergency state (nil when none).
	Emergency(ctx context.Context) (*crowd.EmergencyMode, error)
	// LastEventID is the highest event id ever committed or vouched for by
	// a batch's Through (0 when none), so a restarted engine continues the
	// sequence, and knows that the store is complete up to it.
	LastEventID(ctx context.Context) (event.ID, error)
	// EventsAfter returns committed events with after < id <= upTo, oldest
	// first, at most limit of them. covered is false when events newer than
	// after were pruned, or after lies inside a Lost gap, so the caller
	// cannot replay without a gap.
	EventsAfter(ctx context.Context, after, upTo event.ID, limit int) (events []StoredEvent, covered bool, err error)
	// PruneEvents deletes events older than keepAfter and beyond the newest
	// keep events, and remembers the highest id it deleted (for covered).
	PruneEvents(ctx context.Context, olderThan time.Time, keep int) error
	// Incidents lists the incident log, oldest first.
	Incidents(ctx context.Context, f IncidentFilter) ([]crowd.Incident, error)
	// Sensors lists the sensor registry (see Batch.Sensors).
	Sensors(ctx context.Context) ([]SensorState, error)
	// Counters lists the door-counter balances and doors (see Batch.Counters).
	Counters(ctx context.Context) ([]CounterState, []DoorState, error)
	// CommandDone reports whether a batch with this Command key committed.
	CommandDone(ctx context.Context, key string) (bool, error)
	// Ping checks that the backend is reachable (for /readyz).
	Ping(ctx context.Context) error
	Close() error
	HistoryStore // density history (history.go)
}
