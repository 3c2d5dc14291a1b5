package crowd

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration written in JSON as Go's duration string
// ("30s", "2m"), so a venue file reads like the documentation.
type Duration time.Duration

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "90s" or "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\" or \"2m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q (want e.g. \"30s\" or \"2m\")", s)
	}
	*d = Duration(v)
	return nil
}

// ClockTime is a time of day in minutes after midnight, written in JSON as
// "HH:MM" (24-hour), or CounterResetOff, written "off".
type ClockTime int

// CounterResetOff is the ClockTime of no reset.
const CounterResetOff ClockTime = -1

// MarshalJSON writes "HH:MM" or "off".
func (c ClockTime) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

func (c ClockTime) String() string {
	if c < 0 {
		return "off"
	}
	return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60)
}

// UnmarshalJSON reads "HH:MM" (00:00 to 23:59) or "off".
func (c *ClockTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a time of day such as \"04:00\", or \"off\"")
	}
	if s == "off" {
		*c = CounterResetOff
		return nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return fmt.Errorf("bad time of day %q (want \"HH:MM\", 24-hour, such as \"04:00\", or \"off\")", s)
	}
	*c = ClockTime(t.Hour()*60 + t.Minute())
	return nil
}

// RuleOverrides are a zone's own rule parameters; nil fields keep the
// monitor's. A pitch whose cameras are noisy may want a longer smoothing
// window; a stair may want a shorter dwell.
type RuleOverrides struct {
	SmoothingWindow    *Duration `json:"smoothingWindow,omitempty"`
	DwellLow           *Duration `json:"dwellLow,omitempty"`
	DwellCritical      *Duration `json:"dwellCritical,omitempty"`
	EmergencyReadings  *int      `json:"emergencyReadings,omitempty"`
	HysteresisDensity  *float64  `json:"hysteresisDensity,omitempty"`
	HysteresisCapacity *float64  `json:"hysteresisCapacity,omitempty"`
	HysteresisHold     *Duration `json:"hysteresisHold,omitempty"`
	RenotifyGap        *Duration `json:"renotifyGap,omitempty"`
	TrendRate          *float64  `json:"trendRate,omitempty"`
	TrendSustain       *Duration `json:"trendSustain,omitempty"`
	TrendFloor         *float64  `json:"trendFloor,omitempty"`
	ForecastHorizon    *Duration `json:"forecastHorizon,omitempty"`
	ForecastWindow     *Duration `json:"forecastWindow,omitempty"`
	ForecastLimit      *Duration `json:"forecastLimit,omitempty"`
	CapacityWatch      *float64  `json:"capacityWatch,omitempty"`
	CapacityWarning    *float64  `json:"capacityWarning,omitempty"`
	CapacityCritical   *float64  `json:"capacityCritical,omitempty"`
	CapacityEmergency  *float64  `json:"capacityEmergency,omitempty"`
	FlowSustain        *Duration `json:"flowSustain,omitempty"`
	EmergencyDwell     *Duration `json:"emergencyDwell,omitempty"`
	SensorTimeout      *Duration `json:"sensorTimeout,omitempty"`
	// CounterReset is the zone's own daily reset of its door counters
	// ("04:00", or "off"), in the venue's timezone.
	CounterReset *ClockTime `json:"counterReset,omitempty"`
}

// Apply returns r with o's set fields laid over it. A nil o returns r.
func (r Rules) Apply(o *RuleOverrides) Rules {
	if o == nil {
		return r
	}
	dur := func(dst *time.Duration, src *Duration) {
		if src != nil {
			*dst = time.Duration(*src)
		}
	}
	num := func(dst *float64, src *float64) {
		if src != nil {
			*dst = *src
		}
	}
	dur(&r.SmoothingWindow, o.SmoothingWindow)
	dur(&r.DwellLow, o.DwellLow)
	dur(&r.DwellCritical, o.DwellCritical)
	if o.EmergencyReadings != nil {
		r.EmergencyReadings = *o.EmergencyReadings
	}
	num(&r.HysteresisDensity, o.HysteresisDensity)
	num(&r.HysteresisCapacity, o.HysteresisCapacity)
	dur(&r.HysteresisHold, o.HysteresisHold)
	dur(&r.RenotifyGap, o.RenotifyGap)
	num(&r.TrendRate, o.TrendRate)
	dur(&r.TrendSustain, o.TrendSustain)
	num(&r.TrendFloor, o.TrendFloor)
	dur(&r.ForecastHorizon, o.ForecastHorizon)
	dur(&r.ForecastWindow, o.ForecastWindow)
	dur(&r.ForecastLimit, o.ForecastLimit)
	num(&r.CapacityWatch, o.CapacityWatch)
	num(&r.CapacityWarning, o.CapacityWarning)
	num(&r.CapacityCritical, o.CapacityCritical)
	num(&r.CapacityEmergency, o.CapacityEmergency)
	dur(&r.FlowSustain, o.FlowSustain)
	dur(&r.EmergencyDwell, o.EmergencyDwell)
	dur(&r.SensorTimeout, o.SensorTimeout)
	if o.CounterReset != nil {
		r.CounterReset = *o.CounterReset
	}
	return r
}

// Validate checks the overrides as they would apply over DefaultRules; field
// names are prefixed with "rules".
func (o *RuleOverrides) Validate() error {
	if o == nil {
		return nil
	}
	if err := DefaultRules().Apply(o).Validate(); err != nil {
		return PrefixField(err, "rules")
	}
	return nil
}
