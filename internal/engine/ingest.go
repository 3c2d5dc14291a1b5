package engine

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// Ingest validates a batch of readings and applies it. Validation covers the
// whole batch before anything is applied: one bad reading rejects the batch,
// and the error names it ("[3].density"). Readings of one zone must come in
// time order, within the batch and against what the engine already has.
func (e *Engine) Ingest(ctx context.Context, in []crowd.ReadingInput) ([]crowd.DensityReading, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	readings, err := e.validateLocked(in)
	if err != nil {
		return nil, err
	}
	s := e.newStep()
	out := make([]crowd.DensityReading, 0, len(readings))
	for _, r := range readings {
		out = append(out, e.observeLocked(s, r))
	}
	if e.opts.Observer != nil {
		e.opts.Observer.Ingested(len(out))
	}
	if err := e.apply(ctx, s); err != nil {
		return nil, err
	}
	return out, nil
}

// validateLocked turns inputs into readings or returns the first error.
func (e *Engine) validateLocked(in []crowd.ReadingInput) ([]crowd.Reading, error) {
	if len(in) == 0 {
		return nil, crowd.Invalidf("", "no readings")
	}
	now := e.now()
	seen := map[string]time.Time{}
	out := make([]crowd.Reading, len(in))
	for i, ri := range in {
		r, err := e.validateOne(ri, now, seen)
		if err != nil {
			return nil, crowd.PrefixField(err, fmt.Sprintf("[%d]", i))
		}
		seen[r.ZoneID] = r.Time
		out[i] = r
	}
	return out, nil
}

func (e *Engine) validateOne(ri crowd.ReadingInput, now time.Time, seen map[string]time.Time) (crowd.Reading, error) {
	z, ok := e.zones[ri.ZoneID]
	switch {
	case ri.ZoneID == "":
		return crowd.Reading{}, crowd.Invalidf("zoneId", "is required")
	case !ok:
		return crowd.Reading{}, crowd.Invalidf("zoneId", "unknown zone %q", ri.ZoneID)
	}
	r := crowd.Reading{ZoneID: z.ID, Time: now}
	switch {
	case ri.Density != nil && ri.Count != nil:
		return r, crowd.Invalidf("density", "give density or count, not both")
	case ri.Density != nil:
		if !finite(*ri.Density) || *ri.Density < 0 {
			return r, crowd.Invalidf("density", "must be a finite number of persons per m², at least 0")
		}
		if *ri.Density > 20 {
			return r, crowd.Invalidf("density", "%g persons per m² is physically impossible (over 20)", *ri.Density)
		}
		r.Density = *ri.Density
	case ri.Count != nil:
		if *ri.Count < 0 {
			return r, crowd.Invalidf("count", "must not be negative")
		}
		r.Count = ri.Count
		r.Density = float64(*ri.Count) / z.AreaM2
		if r.Density > 20 {
			return r, crowd.Invalidf("count", "%d persons in %g m² is physically impossible", *ri.Count, z.AreaM2)
		}
	default:
		return r, crowd.Invalidf("density", "is required (or give count)")
	}
	for _, f := range []struct {
		name string
		v    *float64
		dst  **float64
	}{{"inflowPerMin", ri.InflowPerMin, &r.InflowPerMin}, {"outflowPerMin", ri.OutflowPerMin, &r.OutflowPerMin}} {
		if f.v == nil {
			continue
		}
		if !finite(*f.v) || *f.v < 0 {
			return r, crowd.Invalidf(f.name, "must be a finite number of persons per minute, at least 0")
		}
		v := *f.v
		*f.dst = &v
	}
	if ri.Timestamp != nil {
		if *ri.Timestamp <= 0 {
			return r, crowd.Invalidf("timestamp", "must be milliseconds since the epoch")
		}
		r.Time = time.UnixMilli(*ri.Timestamp)
		if r.Time.After(now.Add(e.opts.MaxClockSkew)) {
			return r, crowd.Invalidf("timestamp", "is %s in the future (more than the allowed clock skew of %s)",
				r.Time.Sub(now).Round(time.Second), e.opts.MaxClockSkew)
		}
	}
	latest, ok := seen[z.ID]
	if !ok {
		latest = e.latest[z.ID]
	}
	if ri.Timestamp == nil && r.Time.Before(latest) {
		// A reading without a time is "now"; a sensor whose clock runs a
		// little ahead must not make every reading stamped here "too old".
		r.Time = latest
	}
	if r.Time.Before(latest) {
		return r, crowd.Invalidf("timestamp", "is older than zone %q's latest reading (%d)", z.ID, latest.UnixMilli())
	}
	return r, nil
}

// observeLocked runs one reading through the rules and records its effects.
func (e *Engine) observeLocked(s *step, r crowd.Reading) crowd.DensityReading {
	if o, ok := e.overrides[r.ZoneID]; ok {
		if r.Time.Before(o.until) {
			r.Density, r.Count = o.density, nil
		} else {
			delete(e.overrides, r.ZoneID)
		}
	}
	out := e.monitor.Observe(r)
	e.latest[r.ZoneID] = r.Time
	e.history[r.ZoneID].Add(out.Reading)
	if e.worthSending(out.Reading) {
		s.density(out.Reading)
		e.sent[r.ZoneID] = out.Reading
	}
	for _, a := range out.Alerts {
		s.alert(a)
	}
	s.incidents(out.Incidents...)
	if out.Reading.Level == crowd.Emergency {
		e.escalateEmergencyLocked(s, r.ZoneID, r.Time)
	}
	return out.Reading
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
		a.Occupancy != b.Occupancy || a.Trend != b.Trend {
		return false
	}
	if (a.Count == nil) != (b.Count == nil) || (a.Count != nil && *a.Count != *b.Count) {
		return false
	}
	if (a.Forecast == nil) != (b.Forecast == nil) {
		return false
	}
	return a.Forecast == nil || (a.Forecast.Level == b.Forecast.Level && a.Forecast.Minutes == b.Forecast.Minutes)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
