package engine

import (
	"slices"

	"github.com/crowdrisk/crowdrisk/internal/event"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// The outbox holds, in order, the batches of engine-made changes (alerts
// raised by the rules, emergency mode switched on by a reading) that were
// published while the store refused them. It is retried on every tick and
// drained oldest first. Operator commands never wait in it: they are
// committed before anything of them is shown, or refused with 503.
//
// Its bound, so that a store that stays down cannot exhaust memory:
//   - more than maxOutboxBatches batches: the newest is merged into the one
//     before it (alerts upserted by id, the latest emergency state wins,
//     events and incidents appended), so the order of the changes holds and
//     nothing is lost, only the transactions get bigger;
//   - more than maxOutboxEvents durable events: the oldest events are
//     dropped (the alerts' rows keep their latest state), and a Lost gap is
//     committed with the rest, so a client resuming from before them gets a
//     reset and a snapshot instead of a replay with a hole;
//   - more than maxOutboxIncidents incident-log lines: the oldest lines are
//     dropped.
//
// Each drop is logged (once per outage, with the totals in the recovery
// line) and counted in the status the dashboard and /readyz show. Density
// readings are never in the outbox: they are not stored at all; the door
// counters' balances they change are (upserted by zone and door when
// batches merge, the latest winning).
const (
	maxOutboxBatches   = 1000
	maxOutboxEvents    = 20000
	maxOutboxIncidents = 20000
)

type outbox struct {
	batches   []store.Batch
	events    int // durable events waiting, over every batch
	incidents int
	// Dropped at the bound during the current outage.
	droppedEvents, droppedIncidents int
}

func (o *outbox) len() int { return len(o.batches) }

// push appends b and enforces the bound. It reports whether anything was
// dropped by this push.
func (o *outbox) push(b store.Batch) (dropped bool) {
	o.batches = append(o.batches, b)
	o.events += len(b.Events)
	o.incidents += len(b.Incidents)
	if n := len(o.batches); n > maxOutboxBatches {
		o.batches[n-2] = mergeBatches(o.batches[n-2], o.batches[n-1])
		o.batches[n-1] = store.Batch{}
		o.batches = o.batches[:n-1]
	}
	if over := o.events - maxOutboxEvents; over > 0 {
		o.dropEvents(over)
		dropped = true
	}
	if over := o.incidents - maxOutboxIncidents; over > 0 {
		o.dropIncidents(over)
		dropped = true
	}
	return dropped
}

// pop removes the oldest batch once it is committed.
func (o *outbox) pop() {
	b := o.batches[0]
	o.events -= len(b.Events)
	o.incidents -= len(b.Incidents)
	o.batches[0] = store.Batch{}
	o.batches = o.batches[1:]
	if len(o.batches) == 0 {
		o.batches = nil
	}
}

// dropEvents drops the n oldest waiting events and records, in the oldest
// batch (committed first), that every id up to the newest dropped one may
// be missing from the store.
func (o *outbox) dropEvents(n int) {
	var newest event.ID
	for i := 0; i < len(o.batches) && n > 0; i++ {
		b := &o.batches[i]
		k := min(n, len(b.Events))
		if k == 0 {
			continue
		}
		newest = max(newest, b.Events[k-1].ID)
		b.Events = slices.Delete(b.Events, 0, k)
		n -= k
		o.events -= k
		o.droppedEvents += k
	}
	if newest != 0 {
		o.batches[0].Lost = append(o.batches[0].Lost, store.Gap{After: 0, Before: newest + 1})
	}
}

func (o *outbox) dropIncidents(n int) {
	for i := 0; i < len(o.batches) && n > 0; i++ {
		b := &o.batches[i]
		k := min(n, len(b.Incidents))
		b.Incidents = slices.Delete(b.Incidents, 0, k)
		n -= k
		o.incidents -= k
		o.droppedIncidents += k
	}
}

// pending returns the waiting events with after < id <= upTo (upTo zero:
// no bound), oldest first, and whether a dropped event makes a replay from
// after incomplete.
func (o *outbox) pending(after, upTo event.ID) (evs []*event.Event, covered bool) {
	covered = true
	for _, b := range o.batches {
		for _, g := range b.Lost {
			covered = covered && !g.Contains(after)
		}
		for _, e := range b.Events {
			if e.ID > after && (upTo.IsZero() || e.ID <= upTo) {
				evs = append(evs, &event.Event{ID: e.ID, Topic: e.Topic, Type: e.Type, Data: e.Data, At: e.At})
			}
		}
	}
	return evs, covered
}

// lastBy keeps the last of each key, in the order of those lasts: what
// upserting them one after the other would leave.
func lastBy[T any](all []T, key func(T) string) []T {
	last := make(map[string]int, len(all))
	for i, v := range all {
		last[key(v)] = i
	}
	var out []T
	for i, v := range all {
		if last[key(v)] == i {
			out = append(out, v)
		}
	}
	return out
}

// mergeBatches folds b (newer) into a. The result, committed in one
// transaction, leaves the store as committing a then b would.
func mergeBatches(a, b store.Batch) store.Batch {
	out := store.Batch{
		Events:    append(a.Events, b.Events...),
		Incidents: append(a.Incidents, b.Incidents...),
		Through:   max(a.Through, b.Through),
		Lost:      append(a.Lost, b.Lost...),
	}
	out.Counters = lastBy(append(a.Counters, b.Counters...), func(c store.CounterState) string { return c.ZoneID })
	out.Doors = lastBy(append(a.Doors, b.Doors...), func(d store.DoorState) string { return d.ZoneID + "\x00" + d.SensorID })
	out.Sensors = append(a.Sensors, b.Sensors...)
	out.SetEmergency, out.Emergency = a.SetEmergency, a.Emergency
	if b.SetEmergency {
		out.SetEmergency, out.Emergency = true, b.Emergency
	}
	// An alert is upserted whole: only its latest state matters.
	all := append(a.Alerts, b.Alerts...)
	last := make(map[string]int, len(all))
	for i, al := range all {
		last[al.ID] = i
	}
	for i, al := range all {
		if last[al.ID] == i {
			out.Alerts = append(out.Alerts, al)
		}
	}
	return out
}
