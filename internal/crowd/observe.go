package crowd

import (
	"fmt"
	"math"
	"time"
)

// Observe evaluates one reading of a known zone. It should come from Admit
// (zone exists, values valid, time in order); a reading of an unknown zone
// changes nothing. The reading updates its sensor, and the zone is judged on
// the fusion of its live sensors (see sensors.go).
func (m *Monitor) Observe(r Reading) Outcome {
	z := m.byID[r.ZoneID]
	if z == nil {
		return Outcome{}
	}
	received := r.Received
	if received.IsZero() {
		received = r.Time
	}
	var c changes
	m.resetCounters(z, received, &c) // a reset due before this report comes first
	m.sensorReported(z, r, received, &c)
	switch s := z.sensors[r.SensorID]; {
	case r.In != nil:
		z.countCrossings(s, r, &c)
	case r.Count != nil:
		z.correctCount(*r.Count)
	}
	if r.Time.Before(z.time) {
		// Sensors keep their own order (Admit); the zone's time never goes
		// back: a reading of a sensor whose clock runs behind the others'
		// is still this sensor's news, judged at the zone's time.
		r.Time = z.time
	}
	f := z.fuse(received)
	f.counters = z.counterView(received)
	r.Density, r.Count = f.density, f.count
	return m.judge(z, r, f, &c)
}

// Warm replays one of a zone's recent judged readings (another instance's,
// from the event log) into the rules' memory: the smoothing window, the
// trend fit, the dwell and hysteresis clocks, the early-warning conditions.
// It raises, changes and resolves no alert and leaves the sensors alone, so
// that a leader taking over judges its next reading as its predecessor
// would have, and no alert waits another dwell because of the takeover.
// Readings older than the zone's latest are ignored.
func (m *Monitor) Warm(d DensityReading) {
	z := m.byID[d.ZoneID]
	t := time.UnixMilli(d.Timestamp)
	if z == nil || d.NoData || t.Before(z.time) {
		return
	}
	m.warming = true
	defer func() { m.warming = false }()
	m.judge(z, Reading{ZoneID: z.zone.ID, Time: t, Density: d.Density, Count: d.Count},
		fusion{density: d.Density, count: d.Count, sensors: d.Sensors, peak: d.Peak, counters: d.Counters}, &changes{})
}

// judge runs the zone's rules on its fused reading r.
func (m *Monitor) judge(z *zoneState, r Reading, f fusion, c *changes) Outcome {
	z.time = r.Time
	rules, at := z.rules, ms(r.Time)
	smoothed := z.smooth.add(r.Time, r.Density)
	z.series.add(r.Time, smoothed, rules)
	z.density.step(trackInput{
		at: r.Time, smoothed: smoothed, raw: r.Density,
		bands: z.zone.Thresholds, margin: rules.HysteresisDensity,
	}, rules)

	// Occupancy: the count when the sensor gave one, else density × area;
	// its smoothed value is the smoothed density × area (a median of counts).
	var occupancy, smoothedOcc float64
	if z.zone.Capacity > 0 {
		persons := r.Density * z.zone.AreaM2
		if r.Count != nil {
			persons = float64(*r.Count)
		}
		occupancy = persons / float64(z.zone.Capacity)
		smoothedOcc = smoothed * z.zone.AreaM2 / float64(z.zone.Capacity)
		z.capacity.step(trackInput{
			at: r.Time, smoothed: smoothedOcc, raw: occupancy,
			bands: rules.capacityBands(), margin: rules.HysteresisCapacity,
		}, rules)
	}

	// The zone shows the worse of its two displayed levels; the alerts
	// below follow each track's dwelled level instead.
	prev := z.level
	z.level = max(z.density.level, z.capacity.level)
	forecast := forecastNext(&z.series, z.zone.Thresholds, z.density.level, smoothed, r.Time, rules)
	z.latest = DensityReading{
		ZoneID: z.zone.ID, Density: r.Density, Smoothed: smoothed, Level: z.level,
		Count: r.Count, Occupancy: occupancy, Trend: z.series.trend,
		Forecast: forecast, Timestamp: at, Sensors: f.sensors, Peak: f.peak, Counters: f.counters,
		// A raw value two levels or more above what the smoothing makes of
		// it is what a lone spike looks like: shown, flagged, and it raises
		// nothing on its own.
		Outlier: z.zone.Thresholds.Classify(r.Density) >= z.zone.Thresholds.Classify(smoothed)+2,
	}
	z.has = true

	if z.level != prev && !m.warming {
		c.log(Incident{Timestamp: at, Kind: IncidentLevel, ZoneID: z.zone.ID, Level: levelPtr(z.level), Actor: engineActor,
			Message: fmt.Sprintf("zone %s: %s → %s (smoothed %.2f p/m²)", z.zone.Name, prev, z.level, smoothed)})
	}
	// An emergency entered on raw readings is reported at the raw density,
	// so the alert does not show a value below the emergency threshold.
	alertDensity := smoothed
	if z.density.alert == Emergency {
		alertDensity = math.Max(smoothed, r.Density)
	}
	if m.warming {
		m.trendRule(z, r, smoothed, c)
		m.forecastRule(z, r, forecast, smoothed, c)
		return Outcome{}
	}
	densityAt := z.density.alert
	m.levelRule(z, KindDensity, &z.density, alertDensity, func() string { return z.densityMessage(densityAt, alertDensity) }, at, c)
	if z.zone.Capacity > 0 {
		occ := smoothedOcc
		if z.capacity.alert == Emergency {
			occ = math.Max(occ, occupancy)
		}
		capacityAt := z.capacity.alert
		m.levelRule(z, KindCapacity, &z.capacity, smoothed, func() string { return z.capacityMessage(capacityAt, occ) }, at, c)
	}
	m.trendRule(z, r, smoothed, c)
	m.forecastRule(z, r, forecast, smoothed, c)
	m.flowRule(z, r, smoothed, c)
	m.applyMutes(z, at, c)
	return Outcome{
		Reading: z.latest, LevelChanged: z.level != prev, Previous: prev,
		Alerts: c.copies(), Incidents: c.incidents,
		Emergency: z.density.entered || (z.zone.Capacity > 0 && z.capacity.entered),
	}
}

// The messages say "reached", not "is at": the alert's level is the highest
// that held for its dwell, and the zone may already show a higher one.
func (z *zoneState) densityMessage(l Level, density float64) string {
	return fmt.Sprintf("zone %s reached %s: density %.2f p/m² (%s from %.2f)",
		z.zone.Name, l, density, l, z.zone.Thresholds.Entry(l))
}

func (z *zoneState) capacityMessage(l Level, occupancy float64) string {
	return fmt.Sprintf("zone %s reached %s: %.0f%% of licensed capacity %d (%s from %.0f%%)",
		z.zone.Name, l, occupancy*100, z.zone.Capacity, l, z.rules.capacityBands().Entry(l)*100)
}
