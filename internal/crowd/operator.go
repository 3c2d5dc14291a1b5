package crowd

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Acknowledge marks an open alert acknowledged by an operator. Acknowledging
// an acknowledged alert is idempotent (it is returned unchanged, with no
// incident): two operators pressing the button together must not see an
// error. An alert whose condition is already gone resolves at once: a manual
// alert, or a critical one whose zone came back below its level.
func (m *Monitor) Acknowledge(id, by string, at time.Time) (Alert, []Incident, error) {
	e := m.open[id]
	if e == nil {
		if m.resolved[id] {
			return Alert{}, nil, Errorf(ErrConflict, "alert %s is already resolved", id)
		}
		return Alert{}, nil, Errorf(ErrNotFound, "no open alert %s", id)
	}
	if e.a.Status == StatusAcknowledged {
		return e.a, nil, nil
	}
	z := m.byID[e.a.ZoneID]
	t := ms(at)
	var c changes
	e.a.Status, e.a.AcknowledgedBy, e.a.AcknowledgedAt, e.a.UpdatedAt = StatusAcknowledged, by, t, t
	c.log(Incident{Timestamp: t, Kind: IncidentAcknowledge, ZoneID: e.a.ZoneID, AlertID: id, Level: levelPtr(e.a.Level), Actor: by,
		Message: fmt.Sprintf("%s alert acknowledged by %s", e.a.Kind, by)})
	if e.manual {
		m.resolve(z, e, "acknowledged", t, by, &c)
	} else if l, ok := z.trackLevel(e.a.Kind); ok && l < e.a.Level && e.a.Level >= Critical {
		m.resolve(z, e, fmt.Sprintf("acknowledged, and zone %s is below %s", z.zone.Name, e.a.Level), t, by, &c)
	}
	return e.a, c.incidents, nil
}

// Raise opens a manual alert: a testing control (KindTest) or an operator's
// own. Test alerts are always new (each press tests delivery once); an
// operator's alert of a kind already raised by hand in the zone escalates it
// or is returned unchanged. Manual alerts are never changed by the rules and
// resolve when acknowledged. The incidents name the actor "operator"; the
// engine, which knows who called, may replace it.
func (m *Monitor) Raise(zoneID string, kind AlertKind, level Level, message string, at time.Time) (Alert, []Incident, error) {
	z := m.byID[zoneID]
	if z == nil {
		return Alert{}, nil, &Error{Code: ErrNotFound, Field: "zoneId", Message: fmt.Sprintf("unknown zone %q", zoneID)}
	}
	if !slices.Contains([]AlertKind{KindDensity, KindCapacity, KindTrend, KindForecast, KindFlow, KindTest}, kind) {
		return Alert{}, nil, Invalidf("kind", "unknown alert kind %q", kind)
	}
	if level < Watch || level > Emergency {
		return Alert{}, nil, Invalidf("level", "must be watch, warning, critical or emergency")
	}
	if message == "" {
		message = fmt.Sprintf("%s alert raised by hand in zone %s", kind, z.zone.Name)
		if kind == KindTest {
			message = fmt.Sprintf("test alert in zone %s", z.zone.Name)
		}
	}
	t := ms(at)
	var c changes
	if e := z.manual[kind]; e != nil && kind != KindTest {
		if level <= e.a.Level {
			return e.a, nil, nil
		}
		m.escalate(z, e, level, message, e.a.Density, t, &c)
		return e.a, c.incidents, nil
	}
	density := 0.0
	if z.has {
		density = z.latest.Smoothed
	}
	e := m.raise(z, kind, level, message, density, t, true, &c)
	if kind != KindTest {
		z.manual[kind] = e
	}
	return e.a, c.incidents, nil
}

// Restore reloads the open alerts a restarted engine read from the store, and
// optionally each zone's last reading, so that acknowledgement, resolution
// and re-notification continue where they were. Each density or capacity
// alert also puts its track back at its level: the zone then comes down
// through the hysteresis hold as it would have, instead of its watch alert
// resolving on the first quiet reading or a critical one being raised twice.
// Which alerts were raised by hand is not stored: test alerts are restored
// as manual, every other alert as the rules'. Alerts of unknown zones and
// resolved alerts are skipped.
func (m *Monitor) Restore(open []Alert, latest []DensityReading) {
	open = slices.Clone(open)
	slices.SortStableFunc(open, func(a, b Alert) int {
		return cmp.Or(cmp.Compare(a.Timestamp, b.Timestamp), strings.Compare(a.ID, b.ID))
	})
	for _, a := range open {
		z := m.byID[a.ZoneID]
		if z == nil || !a.Open() || m.open[a.ID] != nil {
			continue
		}
		m.seq++
		// The last notification time is not stored; the last change is a
		// safe stand-in (a reminder comes at most one gap late).
		e := &alertEntry{a: a, seq: m.seq, manual: a.Kind == KindTest, notified: a.UpdatedAt}
		m.open[a.ID] = e
		z.open = append(z.open, e)
		h := z.notified[a.Kind]
		if h == nil {
			h = &notifyHistory{}
			z.notified[a.Kind] = h
		}
		if a.Notifications > 0 && a.Level >= Normal && a.Level <= Emergency {
			h[a.Level] = max(h[a.Level], a.UpdatedAt)
		}
		if a.Kind == KindSensor {
			// The sensor is still silent as far as anyone knows: it resolves
			// when it reports again, or is forgotten a day after it fell
			// silent.
			s := z.sensorFor(a.SensorID)
			s.silent, s.alert, s.notified = true, e, a.UpdatedAt
			s.seen = time.UnixMilli(a.Timestamp).Add(-z.rules.SensorTimeout)
			continue
		}
		if e.manual {
			continue
		}
		// A later alert of the same kind wins the rule slot; an older
		// duplicate (never made by this monitor) is left to the operator.
		if old := z.slots[a.Kind]; old != nil {
			old.manual = true
		}
		z.slots[a.Kind] = e
		switch a.Kind {
		case KindDensity:
			z.density.restore(a.Level)
		case KindCapacity:
			z.capacity.restore(a.Level)
		case KindTrend:
			z.trend.on = time.UnixMilli(a.UpdatedAt)
		case KindForecast:
			z.forecast.on = time.UnixMilli(a.UpdatedAt)
		case KindFlow:
			z.flow.on = time.UnixMilli(a.UpdatedAt)
		}
		z.level = max(z.density.level, z.capacity.level)
	}
	for _, d := range latest {
		z := m.byID[d.ZoneID]
		if z == nil {
			continue
		}
		z.latest, z.has = d, true
		// The display comes back at least at what the last smoothed value
		// classifies as; a level above that (held by the hysteresis) is
		// not stored per track, and is judged afresh.
		z.density.level = max(z.density.level, z.zone.Thresholds.Classify(d.Smoothed))
		if z.zone.Capacity > 0 {
			occ := d.Smoothed * z.zone.AreaM2 / float64(z.zone.Capacity)
			z.capacity.level = max(z.capacity.level, z.rules.capacityBands().Classify(occ))
		}
		z.level = max(z.density.level, z.capacity.level)
	}
}
