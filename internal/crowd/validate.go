package crowd

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The limits of what the engine takes in. They live here, once: the HTTP
// layer only decodes, and every way in (HTTP, a follower forwarding, the
// replay tool) gets the same rules and the same messages.
const (
	// MaxDensity is the highest density believed: about twice the densest
	// crowd ever measured. Anything above is a broken sensor, not a crowd.
	MaxDensity = 20.0
	// MaxIDLen bounds zone and sensor ids, in characters.
	MaxIDLen = 64
	// MaxTextLen bounds reasons and messages, in characters.
	MaxTextLen = 500
	// MaxCrossings bounds a door counter's in or out per report: a wide
	// gate passes about 100 people a minute per metre, so 100,000 in one
	// report is a broken counter or a unit mistake, not a crowd.
	MaxCrossings = 100_000
	// minTimestamp (September 2001 in ms) separates milliseconds from
	// seconds: 1.7e9 is 2023 in seconds but January 1970 in milliseconds,
	// and a reading that old would be judged at a time that never alerts.
	minTimestamp = 1_000_000_000_000
)

// CheckText refuses a text longer than max characters (not bytes: a reason
// in Greek is as long as one in English) or that is not UTF-8.
func CheckText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return Invalidf(field, "must be UTF-8 text")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return Invalidf(field, "must be at most %d characters (got %d)", max, n)
	}
	return nil
}

// CheckReason checks the reason an operator gives for switching emergency
// mode on: required, because the people who read the log later need it.
func CheckReason(reason string) error {
	if strings.TrimSpace(reason) == "" {
		return Invalidf("reason", "is required: say why, for the people who read the log later")
	}
	return CheckText("reason", reason, MaxTextLen)
}

// checkID refuses an id that is too long or holds control characters: ids
// end up in alert messages, logs and the CSV export, where a newline or an
// escape sequence would forge lines.
func checkID(field, id string) error {
	if err := CheckText(field, id, MaxIDLen); err != nil {
		return err
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return Invalidf(field, "must not contain control characters (found %U)", r)
		}
	}
	return nil
}

// Check is the half of a reading's validation that needs no state: fields
// present, in range, and of the right shape.
func (in ReadingInput) Check() error {
	crossingField := "in"
	if in.In == nil {
		crossingField = "out"
	}
	switch {
	case in.ZoneID == "":
		return Invalidf("zoneId", "is required")
	case in.Density != nil && in.Count != nil:
		return Invalidf("density", "give density or count, not both")
	case in.Crossings() && (in.Density != nil || in.Count != nil):
		return Invalidf(crossingField, "give one of density, count or crossings (in/out), not several")
	case in.Density == nil && in.Count == nil && !in.Crossings():
		return Invalidf("density", "is required (persons per m²), or give count, or a door's crossings (in/out) instead")
	}
	if err := checkID("zoneId", in.ZoneID); err != nil {
		return err
	}
	if err := checkID("sensorId", in.SensorID); err != nil {
		return err
	}
	if in.Density != nil {
		if err := checkAmount("density", *in.Density, MaxDensity, "persons per m²"); err != nil {
			return err
		}
	}
	if in.Count != nil && *in.Count < 0 {
		return Invalidf("count", "must not be negative")
	}
	if in.Crossings() {
		if err := in.checkCrossings(); err != nil {
			return err
		}
	}
	if in.Timestamp != nil {
		switch ts := *in.Timestamp; {
		case ts <= 0:
			return Invalidf("timestamp", "must be milliseconds since the epoch")
		case ts < minTimestamp:
			return Invalidf("timestamp", "%d is before September 2001 in milliseconds: it looks like seconds; send milliseconds since the epoch (%d)", ts, ts*1000)
		}
	}
	if in.InflowPerMin != nil {
		if err := checkAmount("inflowPerMin", *in.InflowPerMin, math.MaxFloat64, "persons per minute"); err != nil {
			return err
		}
	}
	if in.OutflowPerMin != nil {
		if err := checkAmount("outflowPerMin", *in.OutflowPerMin, math.MaxFloat64, "persons per minute"); err != nil {
			return err
		}
	}
	return nil
}

// checkCrossings checks a door counter's report. Crossings are deltas, so
// two things a density may do without are required: the door (sensorId),
// because the balance is kept per door and a zone's own series is no door,
// and the timestamp, because it is the report's identity: a report resent
// after a lost answer carries the same one and is not counted twice (Admit).
func (in ReadingInput) checkCrossings() error {
	for _, c := range []struct {
		field string
		v     *int
	}{{"in", in.In}, {"out", in.Out}} {
		switch {
		case c.v == nil:
		case *c.v < 0:
			return Invalidf(c.field, "must not be negative: crossings are people who passed the door since its previous report (a counter that goes down is an out)")
		case *c.v > MaxCrossings:
			return Invalidf(c.field, "%d crossings in one report is not a crowd but a broken counter (at most %d)", *c.v, MaxCrossings)
		}
	}
	if in.SensorID == "" {
		return Invalidf("sensorId", "is required with crossings (in/out): they are counted per door")
	}
	if in.Timestamp == nil {
		return Invalidf("timestamp", "is required with crossings (in/out): it tells a resent report from a new one, so none is counted twice")
	}
	return nil
}

func checkAmount(field string, v, max float64, unit string) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return Invalidf(field, "must be a finite number of %s", unit)
	case v < 0:
		return Invalidf(field, "must not be negative")
	case v > max:
		return Invalidf(field, "%g %s is physically impossible (at most %g)", v, unit, max)
	}
	return nil
}

// AdmitOptions say when and where readings arrive.
type AdmitOptions struct {
	// Now is the engine's clock.
	Now time.Time
	// Stamp is the time a reading without a timestamp is given: when the
	// instance that received it got it (a follower forwards its own
	// stamp). Zero: Now.
	Stamp time.Time
	// MaxClockSkew is how far ahead of Now a timestamp may be.
	MaxClockSkew time.Duration
}

// Admit validates a batch of readings against the monitor's state and turns
// them into Readings, changing nothing: one bad reading refuses the batch,
// and the error names it ("[3].timestamp").
//
// Time order is each sensor's own: a sensor may not send a reading older
// than its latest, but sensors of one zone do not lock each other out. A
// reading is judged at the earlier of its timestamp and its arrival, so a
// sensor whose clock runs ahead (within the skew) can neither push its zone
// into the future, where honest readings would look old, nor hold back its
// alerts. A reading without a timestamp is "now" where it arrived, and is
// never refused as out of order: it is moved up to its sensor's latest.
//
// A door counter's crossings are deltas: counted twice, they would fill the
// zone with people who are not there. Its report must carry a timestamp
// later than the last one counted for that door (its own, unclamped: a
// clock running ahead is clamped to the arrival, and a resend would then
// look new), else it is refused with a conflict (409) that says it was
// already counted: a sensor that resends after a lost answer learns that
// its report is in, and the balance does not move.
func (m *Monitor) Admit(in []ReadingInput, o AdmitOptions) ([]Reading, error) {
	if len(in) == 0 {
		return nil, Invalidf("", "no readings")
	}
	stamp := o.Stamp
	if stamp.IsZero() || stamp.After(o.Now) {
		stamp = o.Now
	}
	type key struct{ zone, sensor string }
	latest := map[key]sensorMark{}
	added := map[string]int{} // new sensors per zone in this batch
	out := make([]Reading, len(in))
	for i, ri := range in {
		k := key{ri.ZoneID, ri.SensorID}
		r, err := m.admitOne(ri, o, stamp, func(z *zoneState) (sensorMark, error) {
			if t, ok := latest[k]; ok {
				return t, nil
			}
			if s := z.sensors[ri.SensorID]; s != nil {
				return sensorMark{time: s.time, counted: s.counted}, nil
			}
			if len(z.sensors)+added[z.zone.ID] >= MaxSensorsPerZone {
				return sensorMark{}, Invalidf("sensorId", "zone %q already has %d sensors, the most a zone may have", z.zone.ID, MaxSensorsPerZone)
			}
			added[z.zone.ID]++
			return sensorMark{}, nil
		})
		if err != nil {
			return nil, PrefixField(err, fmt.Sprintf("[%d]", i))
		}
		mark, ok := latest[k]
		if s := m.byID[r.ZoneID].sensors[r.SensorID]; !ok && s != nil {
			mark.counted = s.counted
		}
		mark.time = r.Time
		if r.In != nil {
			mark.counted = r.Sent
		}
		latest[k] = mark
		out[i] = r
	}
	return out, nil
}

// sensorMark is where a sensor stands: the reading time of its latest
// reading, and the timestamp of its last counted crossings (zero: none).
type sensorMark struct {
	time, counted time.Time
}

func (m *Monitor) admitOne(ri ReadingInput, o AdmitOptions, stamp time.Time, sensorLatest func(*zoneState) (sensorMark, error)) (Reading, error) {
	if err := ri.Check(); err != nil {
		return Reading{}, err
	}
	z := m.byID[ri.ZoneID]
	if z == nil {
		return Reading{}, Invalidf("zoneId", "unknown zone %q", ri.ZoneID)
	}
	if ri.SensorID == TestSensorID || ri.SensorID == CountersSensorID {
		return Reading{}, Invalidf("sensorId", "%q is reserved (the testing controls, the sum of a zone's door counters)", ri.SensorID)
	}
	r := Reading{ZoneID: z.zone.ID, SensorID: ri.SensorID, Received: o.Now,
		InflowPerMin: ri.InflowPerMin, OutflowPerMin: ri.OutflowPerMin}
	switch {
	case ri.Density != nil:
		r.Density = *ri.Density
	case ri.Count != nil:
		r.Count = ri.Count
		r.Density = float64(*ri.Count) / z.zone.AreaM2
		if r.Density > MaxDensity {
			return r, Invalidf("count", "%d persons in %g m² is physically impossible (over %g per m²)", *ri.Count, z.zone.AreaM2, MaxDensity)
		}
	default:
		// No bound on the balance a door's crossings may build: a zone
		// counted far over MaxDensity is a counter fault or a real
		// overcrowding, and either must be seen and alarm, not be refused.
		in, out := 0, 0
		if ri.In != nil {
			in = *ri.In
		}
		if ri.Out != nil {
			out = *ri.Out
		}
		r.In, r.Out = &in, &out
		r.Sent = time.UnixMilli(*ri.Timestamp) // Check: crossings have one
	}
	last, err := sensorLatest(z)
	if err != nil {
		return r, err
	}
	if r.In != nil && !last.counted.IsZero() && !r.Sent.After(last.counted) {
		return r, &Error{Code: ErrConflict, Field: "timestamp", Message: fmt.Sprintf(
			"door %q of zone %q already counted its crossings up to %d: this report was counted before (a resend?) or is older, and is not counted twice",
			ri.SensorID, z.zone.ID, last.counted.UnixMilli())}
	}
	if ri.Timestamp == nil {
		r.Time = later(stamp, last.time)
		return r, nil
	}
	t := time.UnixMilli(*ri.Timestamp)
	if t.After(o.Now.Add(o.MaxClockSkew)) {
		return r, Invalidf("timestamp", "is %s in the future (more than the allowed clock skew of %s)",
			t.Sub(o.Now).Round(time.Second), o.MaxClockSkew)
	}
	if t.After(o.Now) {
		t = o.Now
	}
	if t.Before(last.time) {
		who := fmt.Sprintf("sensor %q of zone %q", ri.SensorID, z.zone.ID)
		if ri.SensorID == "" {
			who = fmt.Sprintf("zone %q's sensor", z.zone.ID)
		}
		return r, Invalidf("timestamp", "is older than %s's latest reading (%d)", who, last.time.UnixMilli())
	}
	r.Time = t
	return r, nil
}

// ZoneTime is the reading time of a zone's latest judged reading (zero when
// it has none), for a caller that makes a reading of its own (a testing
// control) and wants it in order.
func (m *Monitor) ZoneTime(zoneID string) time.Time {
	if z := m.byID[zoneID]; z != nil {
		return z.time
	}
	return time.Time{}
}
