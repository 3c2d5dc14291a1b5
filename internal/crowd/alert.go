package crowd

// AlertKind says which rule raised an alert.
type AlertKind string

const (
	KindDensity  AlertKind = "density"  // smoothed density crossed a level threshold
	KindCapacity AlertKind = "capacity" // occupancy against licensed capacity
	KindTrend    AlertKind = "trend"    // sustained rise (DOMAIN.md early warning)
	KindForecast AlertKind = "forecast" // next threshold forecast within the horizon
	KindFlow     AlertKind = "flow"     // inflow above what the exits can serve
	KindSensor   AlertKind = "sensor"   // a sensor of the zone went silent
	KindTest     AlertKind = "test"     // generated from the testing controls
)

// AlertStatus is where an alert is in its life.
type AlertStatus string

const (
	StatusActive       AlertStatus = "active"
	StatusAcknowledged AlertStatus = "acknowledged"
	StatusResolved     AlertStatus = "resolved"
)

// Valid reports whether s is a known status.
func (s AlertStatus) Valid() bool {
	return s == StatusActive || s == StatusAcknowledged || s == StatusResolved
}

// Alert is one alert. It is sent whole on every change (raise, escalation,
// re-notification, acknowledgement, resolution, mute), so that a client only
// ever needs the latest copy of an id.
type Alert struct {
	ID      string    `json:"id"`
	ZoneID  string    `json:"zoneId"`
	Level   Level     `json:"level"`
	Kind    AlertKind `json:"kind"`
	Message string    `json:"message"`
	Density float64   `json:"density"`
	// Timestamp is when the alert was raised (reading time, ms since epoch).
	Timestamp int64       `json:"timestamp"`
	Status    AlertStatus `json:"status"`
	// UpdatedAt is the time of the latest change (ms since epoch).
	UpdatedAt      int64  `json:"updatedAt"`
	AcknowledgedBy string `json:"acknowledgedBy,omitempty"`
	AcknowledgedAt int64  `json:"acknowledgedAt,omitempty"`
	ResolvedAt     int64  `json:"resolvedAt,omitempty"`
	// Muted is set while a higher alert of the same zone (an emergency)
	// inhibits this one; MutedReason says why, for the operator.
	Muted       bool   `json:"muted,omitempty"`
	MutedReason string `json:"mutedReason,omitempty"`
	// Notifications counts how often the alert was sent as a notification
	// (the raise and each re-notification after the minimum gap).
	Notifications int `json:"notifications"`
	// SensorID names the sensor a sensor alert is about.
	SensorID string `json:"sensorId,omitempty"`
}

// Open reports whether the alert still needs attention or may still change
// (active or acknowledged but not resolved).
func (a Alert) Open() bool { return a.Status != StatusResolved }

// EmergencyMode is the venue-wide emergency state. A nil *EmergencyMode (JSON
// null) means no emergency.
type EmergencyMode struct {
	Active      bool     `json:"active"`
	Reason      string   `json:"reason"`
	ZoneIDs     []string `json:"zoneIds"`
	ActivatedAt int64    `json:"activatedAt"`
	ActivatedBy string   `json:"activatedBy"`
}

// IncidentKind classifies an entry of the incident log.
type IncidentKind string

const (
	IncidentLevel       IncidentKind = "level"       // a zone's level changed
	IncidentAlert       IncidentKind = "alert"       // an alert was raised or escalated
	IncidentAcknowledge IncidentKind = "acknowledge" // an operator acknowledged an alert
	IncidentResolve     IncidentKind = "resolve"     // an alert was resolved
	IncidentEmergency   IncidentKind = "emergency"   // emergency mode activated or ended
	IncidentTest        IncidentKind = "test"        // a testing control was used
	IncidentCounter     IncidentKind = "counter"     // a zone's door counters reset, or went below zero
)

// Incident is one line of the after-action timeline.
type Incident struct {
	Seq       int64        `json:"seq,omitempty"` // store order, set by the store
	Timestamp int64        `json:"timestamp"`     // ms since epoch
	Kind      IncidentKind `json:"kind"`
	ZoneID    string       `json:"zoneId,omitempty"`
	AlertID   string       `json:"alertId,omitempty"`
	Level     *Level       `json:"level,omitempty"`
	Actor     string       `json:"actor,omitempty"` // who did it ("engine" for the rules)
	Message   string       `json:"message"`
}
