package crowd

import "time"

// Reading is one measurement of a zone at the reading's own time.
type Reading struct {
	ZoneID string
	// SensorID is the sensor within the zone; "" is the zone's own.
	SensorID string
	// Time is when the reading is judged to have been measured (reading
	// time, see Monitor); Received when the engine got it, by the engine's
	// clock (zero: Time), which is what a sensor's silence is counted in.
	Time     time.Time
	Received time.Time
	Density  float64 // persons per m²
	// Count is the head count when the sensor reported one (Density is then
	// Count / AreaM2); nil when the sensor reported a density.
	Count *int
	// InflowPerMin and OutflowPerMin are persons per minute crossing into and
	// out of the zone, when the sensor counts flows; nil otherwise.
	InflowPerMin  *float64
	OutflowPerMin *float64
	// In and Out are a door counter's crossings since its previous report
	// (both set, 0 for one the sensor left out); nil for other readings.
	// Sent is then the sensor's own timestamp, unclamped: what tells a
	// resent report from a new one (see Admit).
	In, Out *int
	Sent    time.Time
}

// Forecast is the expected time until a zone reaches its next level, from a
// robust fit of the recent smoothed densities.
type Forecast struct {
	Level   Level   `json:"level"`   // the next level up
	Minutes float64 `json:"minutes"` // minutes until its threshold is crossed
	At      int64   `json:"at"`      // when, in ms since the epoch (reading time)
}

// DensityReading is a reading as the streams and the polling API show it:
// the raw density, its smoothed value, the zone's judged level, its trend and
// forecast. Timestamp is the reading's own time in ms since the epoch.
type DensityReading struct {
	ZoneID   string  `json:"zoneId"`
	Density  float64 `json:"density"`
	Smoothed float64 `json:"smoothed"`
	// Level is what the zone is now: the band of the smoothed density (or
	// occupancy, whichever is worse), entered at once and left only through
	// the hysteresis. It can be above the zone's alerts, which wait for
	// their dwell.
	Level     Level     `json:"level"`
	Count     *int      `json:"count,omitempty"`
	Occupancy float64   `json:"occupancy"` // persons / licensed capacity (0 when no capacity)
	Trend     float64   `json:"trend"`     // smoothed density change, persons/m² per minute
	Forecast  *Forecast `json:"forecast,omitempty"`
	Timestamp int64     `json:"timestamp"`
	// Sensors is how many live sensors the density fuses (see fuse); 0
	// with NoData.
	Sensors int `json:"sensors"`
	// NoData is set when every sensor of the zone has been silent for its
	// sensor timeout: the values are the last ones known, Timestamp is
	// when they were measured, and a screen must show "no data" with the
	// age, never the stale level as if it were current.
	NoData bool `json:"noData,omitempty"`
	// Outlier flags a raw value the smoothing set aside: far above the
	// smoothed value, as a lone spike is. It is shown, and raises nothing.
	Outlier bool `json:"outlier,omitempty"`
	// Peak is the zone's highest live sensor when it reads a higher level
	// than the fused density: one sensor seeing a dense corner is never
	// hidden from the operator by its calmer neighbours.
	Peak *SensorValue `json:"peak,omitempty"`
	// Counters is the zone's door-counter balance, for a zone whose doors
	// count crossings (see counters.go); absent otherwise.
	Counters *CounterBalance `json:"counters,omitempty"`
}

// SensorValue is one sensor's latest density.
type SensorValue struct {
	SensorID string  `json:"sensorId"`
	Density  float64 `json:"density"`
	Level    Level   `json:"level"`
}

// ReadingInput is a reading as a sensor, a script or the replay tool sends it
// to the ingest API. Exactly one of a density, a count or crossings (In
// and/or Out) is given; Timestamp is optional (the engine's clock then),
// except with crossings. The engine validates it and turns it into a Reading.
type ReadingInput struct {
	ZoneID string `json:"zoneId"`
	// SensorID names the sensor within the zone (optional: without it the
	// sensor is the zone itself, one series as before).
	SensorID      string   `json:"sensorId,omitempty"`
	Density       *float64 `json:"density,omitempty"`
	Count         *int     `json:"count,omitempty"`
	Timestamp     *int64   `json:"timestamp,omitempty"` // ms since the epoch
	InflowPerMin  *float64 `json:"inflowPerMin,omitempty"`
	OutflowPerMin *float64 `json:"outflowPerMin,omitempty"`
	// In and Out are a door counter's crossings since its previous report:
	// people who entered and left the zone through that door. A missing
	// one is 0. They need SensorID (the door) and Timestamp (see Check).
	In  *int `json:"in,omitempty"`
	Out *int `json:"out,omitempty"`
}

// Crossings reports whether the reading counts crossings.
func (in ReadingInput) Crossings() bool { return in.In != nil || in.Out != nil }
