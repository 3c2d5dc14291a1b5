package crowd

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// Monitor turns each zone's readings into levels, alerts and incident-log
// lines. A zone's level is what the dashboard shows (the smoothed density's
// band at once, down through the hysteresis); its alerts follow the levels
// that held for their dwell, so a brief peak is seen but pages nobody. It is pure: no I/O, no wall clock (time comes from the readings and
// the callers), so a recorded day replayed in seconds gives the alerts it
// gave live. It is not safe for concurrent use; the engine serialises calls.
type Monitor struct {
	rules         Rules
	newID         func() string
	zones         []*zoneState // venue order
	byID          map[string]*zoneState
	open          map[string]*alertEntry
	seq           uint64
	resolved      map[string]bool
	resolvedOrder []string
	warming       bool // inside Warm: the rules keep their clocks, change no alert
}

// MonitorOptions configure a Monitor. The zero value uses DefaultRules and
// ids "a1", "a2", …
type MonitorOptions struct {
	Rules Rules
	// NewAlertID makes alert ids: the engine injects random ids (unique
	// across restarts), tests a counter.
	NewAlertID func() string
}

// zoneState is everything the monitor remembers about one zone.
type zoneState struct {
	zone     Zone
	rules    Rules // the monitor's rules with the zone's overrides
	smooth   rollingMedian
	inflow   rollingMedian
	series   fitSeries
	density  levelTrack
	capacity levelTrack
	level    Level // max of the density and capacity tracks
	trend    sustained
	forecast sustained
	flow     sustained
	// slots holds the rules' one open alert per kind; manual the operators'.
	slots    map[AlertKind]*alertEntry
	manual   map[AlertKind]*alertEntry
	open     []*alertEntry // every open alert of the zone, raise order
	notified map[AlertKind]*notifyHistory
	latest   DensityReading
	has      bool
	// sensors are the zone's sources, by id and in order of first reading.
	sensors     map[string]*sensor
	sensorOrder []*sensor
	// time is the reading time of the zone's latest judged reading; it never
	// goes back (see Admit).
	time time.Time
	// counters is the balance of the zone's door counters; nil while it
	// has none (counters.go).
	counters *counterState
}

// NewMonitor builds a monitor for zones (filled with WithDefaults).
func NewMonitor(zones []Zone, opts MonitorOptions) *Monitor {
	rules := opts.Rules
	if rules == (Rules{}) {
		rules = DefaultRules()
	}
	m := &Monitor{
		rules:    rules,
		newID:    opts.NewAlertID,
		byID:     map[string]*zoneState{},
		open:     map[string]*alertEntry{},
		resolved: map[string]bool{},
	}
	if m.newID == nil {
		n := 0
		m.newID = func() string { n++; return "a" + strconv.Itoa(n) }
	}
	for _, z := range zones {
		z = z.WithDefaults()
		zr := rules.Apply(z.Rules)
		zs := &zoneState{
			zone:     z,
			rules:    zr,
			smooth:   rollingMedian{span: zr.SmoothingWindow},
			inflow:   rollingMedian{span: zr.SmoothingWindow},
			series:   newFitSeries(zr),
			slots:    map[AlertKind]*alertEntry{},
			manual:   map[AlertKind]*alertEntry{},
			notified: map[AlertKind]*notifyHistory{},
			sensors:  map[string]*sensor{},
		}
		m.zones = append(m.zones, zs)
		m.byID[z.ID] = zs
	}
	return m
}

// Outcome is what one reading changed, for the engine to store and publish.
type Outcome struct {
	// Reading is for the density stream: raw, smoothed, displayed level,
	// trend, forecast, occupancy and count.
	Reading DensityReading
	// LevelChanged reports a change of the displayed level (Reading.Level)
	// from Previous; an incident line records every one, including levels
	// that never held long enough to raise an alert.
	LevelChanged bool
	Previous     Level
	// Alerts are the alerts created or changed by the reading, each once
	// with its final state, in the order they were first changed.
	Alerts []Alert
	// Incidents are the incident-log lines: level changes, raises,
	// escalations, resolutions, mutes.
	Incidents []Incident
	// Emergency reports a new emergency in the zone: its density or
	// occupancy has just passed the emergency dwell, coming from below. It
	// is the only thing that may switch venue-wide emergency mode on: never
	// a displayed level (which one spike of an idle zone could set), and
	// never a zone that merely stays in emergency after an operator ended
	// the mode (DOMAIN.md: only a fresh dwell brings it back).
	Emergency bool
}

// Latest returns the latest reading of every zone that has one, in zone order.
func (m *Monitor) Latest() []DensityReading {
	var out []DensityReading
	for _, z := range m.zones {
		if z.has {
			out = append(out, z.latest)
		}
	}
	return out
}

// LatestOf returns a zone's latest reading.
func (m *Monitor) LatestOf(zoneID string) (DensityReading, bool) {
	z := m.byID[zoneID]
	if z == nil || !z.has {
		return DensityReading{}, false
	}
	return z.latest, true
}

// OpenAlerts returns the active and acknowledged alerts, oldest first.
func (m *Monitor) OpenAlerts() []Alert {
	out := make([]Alert, 0, len(m.open))
	for _, e := range m.sortedOpen() {
		out = append(out, e.a)
	}
	return out
}

func (m *Monitor) sortedOpen() []*alertEntry {
	es := make([]*alertEntry, 0, len(m.open))
	for _, e := range m.open {
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b *alertEntry) int { return cmp.Compare(a.seq, b.seq) })
	return es
}

// ms is reading time as the wire has it.
func ms(t time.Time) int64 { return t.UnixMilli() }
