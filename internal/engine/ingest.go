package engine

import (
	"context"
	"math"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// Ingest validates a batch of readings and applies it. Validation covers the
// whole batch before anything is applied: one bad reading rejects the batch,
// and the error names it ("[3].density"). The rules are crowd's (Admit):
// readings of one sensor come in time order, and a reading without a
// timestamp is stamped now.
func (e *Engine) Ingest(ctx context.Context, in []crowd.ReadingInput) ([]crowd.DensityReading, error) {
	return e.IngestStamped(ctx, in, time.Time{})
}

// IngestStamped is Ingest for readings another instance received: those
// without a timestamp are stamped with stamp, when that instance got them
// (never later than now), and are never refused as out of order.
func (e *Engine) IngestStamped(ctx context.Context, in []crowd.ReadingInput, stamp time.Time) ([]crowd.DensityReading, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	readings, err := e.monitor.Admit(in, crowd.AdmitOptions{Now: e.now(), Stamp: stamp, MaxClockSkew: e.opts.MaxClockSkew})
	if err != nil {
		return nil, err
	}
	s := e.newStep()
	out := make([]crowd.DensityReading, 0, len(readings))
	for _, r := range readings {
		out = append(out, e.observeLocked(s, r))
	}
	e.saveCountersLocked(s)
	if e.opts.Observer != nil {
		e.opts.Observer.Ingested(len(out))
	}
	if err := e.apply(ctx, s); err != nil {
		return nil, err
	}
	return out, nil
}

// observeLocked runs one reading through the rules and records its effects.
func (e *Engine) observeLocked(s *step, r crowd.Reading) crowd.DensityReading {
	out := e.monitor.Observe(r)
	e.history[r.ZoneID].Add(out.Reading)
	e.hist.record(out.Reading)
	if e.worthSending(out.Reading) {
		s.density(out.Reading)
		e.sent[r.ZoneID] = out.Reading
	}
	for _, a := range out.Alerts {
		s.alert(a)
	}
	s.incidents(out.Incidents...)
	if out.Emergency {
		e.escalateEmergencyLocked(s, r.ZoneID, r.Time)
	}
	return out.Reading
}

// saveCountersLocked adds the door-counter balances and doors the step
// changed to its batch. Committed with the readings that changed them, and
// before they are published, as alerts are (apply): crossings are deltas,
// and a balance lost in a restart would show a full stand empty, while a
// door's mark lost would let a resent report be counted twice. A store
// that fails holds them in the outbox, in order, like any engine change.
func (e *Engine) saveCountersLocked(s *step) {
	zones, doors := e.monitor.CountersToSave()
	for _, z := range zones {
		var reset int64
		if !z.ResetAt.IsZero() {
			reset = z.ResetAt.UnixMilli()
		}
		s.batch.Counters = append(s.batch.Counters, store.CounterState{ZoneID: z.ZoneID, Persons: z.Persons, Clamped: z.Clamped, ResetAt: reset})
	}
	for _, d := range doors {
		s.batch.Doors = append(s.batch.Doors, store.DoorState{ZoneID: d.ZoneID, SensorID: d.SensorID, Counted: d.Counted.UnixMilli()})
	}
}

// resendUnchanged is how often a zone whose reading does not change is sent
// anyway, so that screens can tell a steady zone from a silent sensor.
const resendUnchanged = 15 * time.Second

// worthSending reports whether a judged reading differs from the last one
// sent for its zone in anything but its time, or the last one is getting
// old: only changed data goes on the wire.
func (e *Engine) worthSending(r crowd.DensityReading) bool {
	prev, ok := e.sent[r.ZoneID]
	if !ok || r.Timestamp-prev.Timestamp >= resendUnchanged.Milliseconds() {
		return true
	}
	return !sameJudgement(prev, r)
}

func sameJudgement(a, b crowd.DensityReading) bool {
	if a.Density != b.Density || a.Smoothed != b.Smoothed || a.Level != b.Level ||
		a.Occupancy != b.Occupancy || a.Trend != b.Trend || a.Sensors != b.Sensors ||
		a.NoData != b.NoData || a.Outlier != b.Outlier || (a.Peak == nil) != (b.Peak == nil) ||
		(a.Peak != nil && *a.Peak != *b.Peak) {
		return false
	}
	if (a.Count == nil) != (b.Count == nil) || (a.Count != nil && *a.Count != *b.Count) {
		return false
	}
	if (a.Counters == nil) != (b.Counters == nil) || (a.Counters != nil && *a.Counters != *b.Counters) {
		return false
	}
	if (a.Forecast == nil) != (b.Forecast == nil) {
		return false
	}
	return a.Forecast == nil || (a.Forecast.Level == b.Forecast.Level && a.Forecast.Minutes == b.Forecast.Minutes)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
