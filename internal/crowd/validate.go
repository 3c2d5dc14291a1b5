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
	switch {
	case in.ZoneID == "":
		return Invalidf("zoneId", "is required")
	case in.Density != nil && in.Count != nil:
		return Invalidf("density", "give density or count, not both")
	case in.Density == nil && in.Count == nil:
		return Invalidf("density", "is required (persons per m²), or give count instead")
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
func (m *Monitor) Admit(in []ReadingInput, o AdmitOptions) ([]Reading, error) {
	if len(in) == 0 {
		return nil, Invalidf("", "no readings")
	}
	stamp := o.Stamp
	if stamp.IsZero() || stamp.After(o.Now) {
		stamp = o.Now
	}
	type key struct{ zone, sensor string }
	latest := map[key]time.Time{}
	added := map[string]int{} // new sensors per zone in this batch
	out := make([]Reading, len(in))
	for i, ri := range in {
		r, err := m.admitOne(ri, o, stamp, func(z *zoneState) (time.Time, error) {
			k := key{z.zone.ID, ri.SensorID}
			if t, ok := latest[k]; ok {
				return t, nil
			}
			if s := z.sensors[ri.SensorID]; s != nil {
				return s.time, nil
			}
			if len(z.sensors)+added[z.zone.ID] >= MaxSensorsPerZone {
				return time.Time{}, Invalidf("sensorId", "zone %q already has %d sensors, the most a zone may have", z.zone.ID, MaxSensorsPerZone)
			}
			added[z.zone.ID]++
			return time.Time{}, nil
		})
		if err != nil {
			return nil, PrefixField(err, fmt.Sprintf("[%d]", i))
		}
		latest[key{r.ZoneID, r.SensorID}] = r.Time
		out[i] = r
	}
	return out, nil
}

func (m *Monitor) admitOne(ri ReadingInput, o AdmitOptions, stamp time.Time, sensorLatest func(*zoneState) (time.Time, error)) (Reading, error) {
	if err := ri.Check(); err != nil {
		return Reading{}, err
	}
	z := m.byID[ri.ZoneID]
	if z == nil {
		return Reading{}, Invalidf("zoneId", "unknown zone %q", ri.ZoneID)
	}
	if ri.SensorID == TestSensorID {
		return Reading{}, Invalidf("sensorId", "%q is reserved for the testing controls", TestSensorID)
	}
	r := Reading{ZoneID: z.zone.ID, SensorID: ri.SensorID, Received: o.Now,
		InflowPerMin: ri.InflowPerMin, OutflowPerMin: ri.OutflowPerMin}
	if ri.Density != nil {
		r.Density = *ri.Density
	} else {
		r.Count = ri.Count
		r.Density = float64(*ri.Count) / z.zone.AreaM2
		if r.Density > MaxDensity {
			return r, Invalidf("count", "%d persons in %g m² is physically impossible (over %g per m²)", *ri.Count, z.zone.AreaM2, MaxDensity)
		}
	}
	last, err := sensorLatest(z)
	if err != nil {
		return r, err
	}
	if ri.Timestamp == nil {
		r.Time = later(stamp, last)
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
	if t.Before(last) {
		who := fmt.Sprintf("sensor %q of zone %q", ri.SensorID, z.zone.ID)
		if ri.SensorID == "" {
			who = fmt.Sprintf("zone %q's sensor", z.zone.ID)
		}
		return r, Invalidf("timestamp", "is older than %s's latest reading (%d)", who, last.UnixMilli())
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
