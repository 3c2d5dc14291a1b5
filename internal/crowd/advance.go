package crowd

import (
	"fmt"
	"time"
)

// Passage is what the passing of time changed, with no reading: sensors gone
// silent, zones left with no live sensor, test alerts expired.
type Passage struct {
	// Readings are the latest readings of zones that have just lost their
	// last live sensor, marked NoData.
	Readings  []DensityReading
	Alerts    []Alert
	Incidents []Incident
}

// Advance lets time pass to now, by the engine's clock (a sensor's silence
// is measured in the engine's time, not in its own, which may be wrong).
// The engine calls it about once a second.
func (m *Monitor) Advance(now time.Time) Passage {
	var c changes
	for _, z := range m.zones {
		m.resetCounters(z, now, &c)
		m.sensorsSilent(z, now, &c)
		m.expireTests(z, now, &c)
		m.applyMutes(z, ms(now), &c)
	}
	return Passage{Readings: c.noData, Alerts: c.copies(), Incidents: c.incidents}
}

// expireTests resolves the zone's test alerts older than their lifetime. A
// drill checks delivery once; left open, thousands of them would ride in
// every new screen's snapshot.
func (m *Monitor) expireTests(z *zoneState, now time.Time, c *changes) {
	at := ms(now)
	life := z.rules.TestAlertLifetime
	for _, e := range append([]*alertEntry(nil), z.open...) {
		if e.a.Kind == KindTest && at-e.a.Timestamp >= life.Milliseconds() {
			m.resolve(z, e, fmt.Sprintf("test alert closed after %s", life), at, engineActor, c)
		}
	}
}
